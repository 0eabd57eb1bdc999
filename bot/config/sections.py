"""How the features' sections of the settings are read: each section is one nested model
(`Section`, bot/config/parsing.py) whose fields name their variables by validation alias, and
these sources gather those flat variables (VOICE_REPLIES, KB_PATH, whatever their case) into
the section's dict, from keywords (`Settings(voice_replies="always")`), the environment and
`.env`, in that order of precedence, as pydantic-settings gives the root's own fields.

pydantic-settings reads only the root's fields by their names; the composed Settings
(bot/features/settings.py) plugs these in through `settings_customise_sources`. A section given
whole (`Settings(voice=VoiceSettings(...))`) wins over its variables in the environment; given
as a dict, it is keyed by field names or variables, and the environment fills the rest."""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from typing import Any

from pydantic.fields import FieldInfo
from pydantic_settings import (
    BaseSettings,
    DotEnvSettingsSource,
    EnvSettingsSource,
    PydanticBaseSettingsSource,
)

from bot.config.parsing import Section


# Asked for each field by each source (about 150 times a Settings), so computed once a class:
# the walk was a third of building the Settings (3.5 ms of a BotTester's start).
@cache
def sections(settings_cls: type[BaseSettings]) -> Mapping[str, type[Section]]:
    """The settings' sections, by field name (`voice`)."""
    found: dict[str, type[Section]] = {}
    for name, field in settings_cls.model_fields.items():
        if isinstance(field.annotation, type) and issubclass(field.annotation, Section):
            found[name] = field.annotation
    return found


def variables(settings_cls: type[BaseSettings]) -> dict[str, tuple[str, ...]]:
    """Every variable the settings read (upper case), with where its value lands: a field of
    the root (`("text_model",)`) or a section's (`("voice", "replies")`)."""
    where: dict[str, tuple[str, ...]] = {}
    parts = sections(settings_cls)
    for name in settings_cls.model_fields:
        if name in parts:
            where.update({variable: (name, field)
                          for field, variable in parts[name].variables().items()})
        else:
            where[name.upper()] = (name,)
    return where


@cache
def _by_variable(settings_cls: type[BaseSettings]) -> Mapping[str, tuple[str, str]]:
    # lower-case variable -> (section, VARIABLE), for matching whatever the case.
    return {variable.lower(): (where[0], variable)
            for variable, where in variables(settings_cls).items() if len(where) == 2}


def _keyed_by_variable(section: type[Section], given: Mapping[str, Any]) -> dict[str, Any]:
    # A section given as a dict, keyed by its variables, so that a value given by field name
    # and one from the environment meet under one key (the given one wins).
    names = section.variables()
    return {names.get(key, key): value for key, value in given.items()}


class SectionedInitSource(PydanticBaseSettingsSource):
    """The keywords given to Settings, each section's variables among them gathered into the
    section's dict (`voice_replies="always"` → `voice={"VOICE_REPLIES": "always"}`)."""

    def __init__(self, settings_cls: type[BaseSettings], given: PydanticBaseSettingsSource):
        super().__init__(settings_cls)
        self.given = given

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False  # __call__ reads them all at once

    def __call__(self) -> dict[str, Any]:
        data = dict(self.given())
        parts = sections(self.settings_cls)
        flat: dict[str, dict[str, Any]] = {}
        for key, (section, variable) in _by_variable(self.settings_cls).items():
            for name in [name for name in data if name.lower() == key]:
                flat.setdefault(section, {})[variable] = data.pop(name)
        for section, model in parts.items():
            given = data.get(section)
            if isinstance(given, Mapping):
                data[section] = {**flat.pop(section, {}), **_keyed_by_variable(model, given)}
            elif section in flat:
                if given is not None:
                    raise TypeError(f"Settings: give {section}= or its variables "
                                    f"({', '.join(sorted(flat[section]))}), not both")
                data[section] = flat.pop(section)
        return data


class SectionedEnvSource(EnvSettingsSource):
    """The environment: the root's fields by their names, as pydantic-settings reads them, and
    each section's variables gathered into the section's dict. A variable named like a section
    (VOICE) is no setting."""

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        if field_name in sections(self.settings_cls):
            return None, field_name, False
        return super().get_field_value(field, field_name)

    def __call__(self) -> dict[str, Any]:
        data = super().__call__()
        by_variable = _by_variable(self.settings_cls)
        for key in [key for key in data if key.lower() in by_variable]:
            del data[key]  # `.env`'s lines that name no root field come back as extras
        for key, value in self.env_vars.items():
            found = by_variable.get(key.lower())
            if found is not None and value is not None:
                section, variable = found
                data.setdefault(section, {})[variable] = value
        return data


class SectionedDotEnvSource(SectionedEnvSource, DotEnvSettingsSource):
    """`.env` (or the file given as `_env_file`), read as the environment is."""
