"""`Settings`, the composed settings (the core's areas and each feature's section), as a
feature's declaration (`feature.py`), its build (`build.py`) and its commands read it: its
`Feature` callables are given the whole, and pick their section (`settings.voice`).

A feature's own section (bot/features/<name>/settings.py) is a leaf and never imports this:
the composed Settings imports every section (bot/features/settings.py), not the other way
round."""

from __future__ import annotations

from bot.features.settings import Settings

__all__ = ["Settings"]
