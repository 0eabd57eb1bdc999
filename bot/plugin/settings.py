"""`Settings`, the type of the composed settings (the core's areas and each feature's
section), as a feature's declaration (`feature.py`), its build (`build.py`) and its commands
read it: its `Feature` callables are given the whole, and pick their section
(`settings.section(VoiceSettings)`).

This is the composed settings' base (bot/config/composed.py), which knows no feature list: a
feature's module names it without an import circle through the list that composes it
(bot/features/settings.py). A feature's own section (bot/features/<name>/settings.py) is a
leaf and never imports this."""

from __future__ import annotations

from bot.config.composed import SettingsBase as Settings

__all__ = ["Settings"]
