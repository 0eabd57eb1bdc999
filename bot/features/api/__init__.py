"""The features' API: what a feature (bot/features/<name>/) builds on and declares itself
with, the one module of fmbot a feature imports besides the layers below the Telegram front
(bot.conversation, bot.storage, bot.foundation_models, bot.telegram's parts) and its own
folder. A feature imports neither bot.cli nor bot.wiring (import-linter holds it), nor another
feature: what it needs of another it asks for by type through `Built`.

- feature.py: the `Feature` object and what its builds return.
- built.py: `Built`, where the features' parts are found by type.
- offers.py: what features offer each other by these types (a person's case state, ...).
- ground.py: what a feature builds on (`Groundwork`, `TelegramGround`, `Preparing`).
- clients.py: the Foundation Models clients built from the settings.
- commands.py: a feature's `fmbot` commands and report parts, and `CommandContext`.
- outcome.py: a check's outcome, one line each.
- asker.py: who asks in a turn, as tools and the App's context providers see it.
- running.py: the built bot, as a feature's command reaches it.
"""

from __future__ import annotations

from bot.features.api.built import Built, FeatureMissing
from bot.features.api.commands import (
    Command,
    CommandContext,
    ReportPart,
    ReportSection,
    Subcommands,
)
from bot.features.api.feature import (
    CoreParts,
    Feature,
    FeatureCheck,
    SettingsCheck,
    TelegramLine,
    TelegramParts,
)
from bot.features.api.ground import FrontEnd, Groundwork, Preparing, TelegramGround
from bot.features.api.outcome import Outcome, failed, passed

__all__ = [
    "Built",
    "Command",
    "CommandContext",
    "CoreParts",
    "Feature",
    "FeatureCheck",
    "FeatureMissing",
    "FrontEnd",
    "Groundwork",
    "Outcome",
    "Preparing",
    "ReportPart",
    "ReportSection",
    "SettingsCheck",
    "Subcommands",
    "TelegramGround",
    "TelegramLine",
    "TelegramParts",
    "failed",
    "passed",
]
