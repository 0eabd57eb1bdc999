"""`bot.plugin`: the feature API, what a plugin (and, in time, each of fmbot's own features)
builds on. A plugin imports from fmbot only `bot`, `bot.plugin` and, in its tests,
`bot.testing`; everything else under `bot.*` is internal and may change between versions.

A plugin is a `Feature`: its entry point (group `fmbot.plugins`) names one, and nothing outside
the App changes the App. What a feature can declare:

- `Feature`: the feature: its name, settings section, tables, texts, migrations, `fmbot`
  commands, and its one lifecycle (`lifespan`).
- `FeatureContext`: what its lifespan is given, to declare, register and build on: its
  settings section, typed (`section(HelpdeskSettings)`); what it declares (`check`,
  `telegram_check`, `model`, `report`, `settings_check`, `secret`, `variable`, `forum`);
  what it registers (`FeatureSetup`'s routers, menu commands, context providers, tools and
  hooks); the phases it awaits to build (`prepare`, `core`, `telegram`); and what it builds
  (`turn`, `offer`, `on_front`, `final_form`, `idle`, `on_ready`).
- `FeatureSetup`: the registrations alone (routers with `include_router`, menu commands
  with `command`, context providers with `context`, Python tools with `tool` and
  `add_tool_source`, hooks with `on_answer`, `on_handoff`, `on_startup`, `on_shutdown`):
  the `App` is one, its decorators these methods, on the App's own feature.
- `Section`, `Switch`: its section of the settings (`Feature.settings`), each field naming its
  variable (`Field(validation_alias="HELPDESK_DAILY_LOOKUPS")`), composed into the bot's
  settings: validated with fmbot's, listed by `fmbot settings`, read in code with
  `settings.section(HelpdeskSettings)`, or `setup.section(HelpdeskSettings)` in its setup.
- `SettingsCheck`: a check of its settings, run before the commands it names (`fmbot check`
  runs those of `run`); it raises `ConfigError`, a line per problem.
- `FeatureCheck`, `Outcome`, `passed`, `failed`: its lines in `fmbot check`.
- `ModelUse`: a model it calls, as a setting names it (`fmbot check` finds it in the
  folder's listing or probes it).
- `Command`, `CommandContext`, `Subcommands`: its own `fmbot <name>` command, and what the
  command's body is given.
- `ReportSection`, `ReportPart`: its part of `fmbot report`.
- `Groundwork`, `Built`, `FeatureMissing`, `Preparing`: what its phases give it to build on
  (`await ctx.prepare()`, `await ctx.core()`), and what it offers other features or asks of
  them, by type (`ctx.offer`, `ctx.built`).
- `TelegramPart`, `FrontParts`, `TelegramGround`, `UsageLines`,
  `TelegramLine`: what it builds on the Telegram front (`await ctx.telegram()`,
  `ctx.on_front`): routers, services, its `/help` and `/stats` lines; its lines in the
  Telegram check.
- `Translator`, `register_texts`: its texts, in the user's language.
- `Principal`, `Surface`: who asks, decided once per update before any feature sees it (a
  handler's `principal` argument).
- `DailyCounts`, `utc_today`: counts per user per UTC day, in fmbot's database.
- `ChatMessage`, `Role`: a request to a model (`CommandContext.client()`).
- `ConfigError`: a setting refused, one line per problem.
- `TURN_COMMANDS`: the commands whose turns ask the model (`SettingsCheck.commands`).

A plugin, step by step: docs/extending.md.

fmbot's own features (bot/features/<name>/) import from fmbot only this package and their own
folder, as a plugin does. Its submodules: the API's own (`feature`, `declarations`,
`context`, `lifespan`, `registry`, `built`, `ground`,
`commands`, `outcome`, `offers`, `asker`, `running`, `clients`, `texts`), the composed
`settings`, and what a feature reaches of the core, one module per area re-exporting what the
features use: `config`, `models`, `storage`, `telegram`, `conversation`, `prompting`,
`grounding`, `extending`, `coordination`, `metrics`, `reading`, `helpers`,
`oidc` (the one OpenID Connect relying party)
(docs/extending.md).

Several of these names are fmbot's internal objects re-exported under the names and
signatures this module commits to: what they are may move inside fmbot, what is imported
from here will not change without a major version. The area submodules are provisional: a
plugin may import them, as fmbot's own features do, but their names may change in a minor
version (each change in the CHANGELOG) until the feature API's lifecycle settles.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.config import ConfigError
from bot.config.parsing import Section, Switch
from bot.foundation_models.types import ChatMessage, Role
from bot.lazyexports import lazy_exports
from bot.plugin.built import Built, FeatureMissing
from bot.plugin.commands import (
    Command,
    CommandContext,
    ReportPart,
    ReportSection,
    Subcommands,
)
from bot.plugin.context import FeatureContext
from bot.plugin.feature import (
    TURN_COMMANDS,
    Feature,
    FeatureCheck,
    ModelUse,
    SettingsCheck,
    TelegramLine,
)
from bot.plugin.ground import Groundwork, Preparing, TelegramGround
from bot.plugin.outcome import Outcome, failed, passed
from bot.plugin.setup import FeatureSetup
from bot.plugin.texts import register_texts
from bot.telegram.featureparts import FrontParts, TelegramPart
from bot.telegram.texts import Translator

# Imported on first use (PEP 562): their modules import aiogram or SQLAlchemy, which a
# plugin's entry point loaded by `fmbot --help` should not pay for.
_WHERE = {
    "DailyCounts": "bot.storage.repositories.counts",
    "Principal": "bot.telegram.admission",
    "Surface": "bot.telegram.admission",
    "UsageLines": "bot.telegram.deps",
    "utc_today": "bot.storage.models.base",
}

__getattr__, __dir__ = lazy_exports(__name__, _WHERE)

if TYPE_CHECKING:
    from bot.storage.models.base import utc_today
    from bot.storage.repositories.counts import DailyCounts
    from bot.telegram.admission import Principal, Surface
    from bot.telegram.deps import UsageLines

__all__ = [
    "TURN_COMMANDS",
    "Built",
    "ChatMessage",
    "Command",
    "CommandContext",
    "ConfigError",
    "DailyCounts",
    "Feature",
    "FeatureCheck",
    "FeatureContext",
    "FeatureMissing",
    "FeatureSetup",
    "FrontParts",
    "Groundwork",
    "ModelUse",
    "Outcome",
    "Preparing",
    "Principal",
    "ReportPart",
    "ReportSection",
    "Role",
    "Section",
    "SettingsCheck",
    "Subcommands",
    "Surface",
    "Switch",
    "TelegramGround",
    "TelegramLine",
    "TelegramPart",
    "Translator",
    "UsageLines",
    "failed",
    "passed",
    "register_texts",
    "utc_today",
]
