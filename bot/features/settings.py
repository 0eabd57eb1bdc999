"""Settings: every knob of a deployment, read from the environment and `.env`: the core's
areas (bot/config, flat fields: `settings.text_model`) and each registered feature's own
section (bot/features/<name>/settings.py, a plugin's too), one nested model each, composed
here from the feature list (`compose`): `settings.section(VoiceSettings).replies`, or
`settings.voice.replies` (`from bot import Settings`).

The variable names are the public contract (documented one by one in `.env.example`): a
section's fields name theirs (VOICE_REPLIES), read flat from the environment, `.env` and
keywords (`Settings(voice_replies="always")`, bot/config/sections.py); a section may also be
given whole (`Settings(voice=VoiceSettings(replies="always"))`). Defaults that depend on the
core are resolved once, each section by its own `resolved_with`; those within a section, by
the section. Only the command layer (`bot.cli`, `bot.wiring`, `bot.app`,
`bot.testing`) and the features' lifespans read Settings; a feature's parts get its section
and plain values. Each feature's lifespan declares its checks of its section (the section's
methods), which a command runs before it starts anything (bot/wiring/preflight.py)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import ValidationError

from bot.config.composed import SectionOf, SettingsBase, compose
from bot.config.parsing import ConfigError
from bot.config.sections import sections
from bot.features.installed import FEATURES

__all__ = ["SectionOf", "Settings", "SettingsBase", "compose", "load_settings"]

if TYPE_CHECKING:
    Settings = SettingsBase
    """One deployment's configuration: the core's settings and the sections of fmbot's
    features, composed from the feature list (`SettingsBase`, `compose`)."""
else:
    # fmbot's own features' sections (bot/features/installed.py); a plugin's join with
    # `compose(plugins, Settings)` (bot/app/parts.py).
    Settings = compose(FEATURES, module=__name__)
    """One deployment's configuration: the core's settings and the sections of fmbot's
    features, composed from the feature list (`SettingsBase`, `compose`)."""


def load_settings(env_file: str | Path | None = ".env",
                  settings_cls: type[SettingsBase] | None = None) -> SettingsBase:
    """Read the settings (the environment, then `env_file`), fmbot's or those composed with
    a plugin's sections (`settings_cls`), turning pydantic's report into one message naming
    every variable."""
    try:
        return (settings_cls or Settings)(_env_file=env_file)
    except ValidationError as exc:
        lines = []
        for error in exc.errors():
            message = error["msg"].removeprefix("Value error, ")  # pydantic's prefix says nothing
            lines.append(f"{variable_of(error['loc'], settings_cls)}: {message}")
        raise ConfigError("\n".join(dict.fromkeys(lines))) from None


def variable_of(loc: tuple[int | str, ...], settings_cls: type[SettingsBase] | None = None,
                ) -> str:
    """The variable a validation error's location names: a root field's (`("text_model",)`)
    or a section's (`("voice", "VOICE_REPLIES")`, or by field name `("voice", "replies")`)."""
    if not loc:
        return "settings"
    head = str(loc[0])
    section = sections(settings_cls or Settings).get(head)
    if section is not None and len(loc) > 1:
        key = str(loc[1])
        return section.variables().get(key, key)
    return head.upper()

