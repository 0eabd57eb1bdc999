"""The settings composed of sections: `SettingsBase` (the core's settings, flat, and the
ways a section is read: by type, `section`, or a variable by name, `value`), and `compose`,
which adds a field per section a list of features declares (bot/features/settings.py composes
fmbot's; the App adds its plugins'). What a feature's parts are typed with (`bot.plugin.settings`):
nothing here knows the feature list, so a feature's module may name it without a circle."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from typing import Any, Protocol, Self, TypeVar

from pydantic import Field, create_model, model_validator
from pydantic_settings import (
    BaseSettings,
    DotEnvSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from bot.config import CoreSettings
from bot.config.parsing import ConfigError, Section, raise_all
from bot.config.sections import (
    SectionedDotEnvSource,
    SectionedEnvSource,
    SectionedInitSource,
    sections,
    variables,
)

__all__ = ["SectionOf", "SettingsBase", "compose"]

S = TypeVar("S", bound=Section)


class SettingsBase(CoreSettings):
    """One deployment's configuration: the core's settings, flat (`settings.text_model`),
    and a field per registered feature's section, named as its feature (`settings.voice`),
    composed from the feature list (`compose`). Each variable is documented in
    `.env.example`; `fmbot settings` lists them all, an installed plugin's too.

    In code, name them in lower case: `App(settings=Settings(telegram_bot_token="...",
    yandex_folder_id="...", yandex_api_key="..."))`, a feature's too
    (`Settings(voice_replies="always")`). What is given wins over the environment and `.env`,
    which fill the rest. A feature reads its section by type, `settings.section(VoiceSettings)`
    (typed), or by name, `settings.voice`."""

    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", case_sensitive=False
    )

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Keywords, the environment, `.env`, as pydantic-settings reads them, each also
        reading the sections' variables flat (bot/config/sections.py)."""
        # The file given as `_env_file` (or model_config's), as pydantic-settings chose it.
        dotenv = dotenv_settings if isinstance(dotenv_settings, DotEnvSettingsSource) else None
        return (
            SectionedInitSource(settings_cls, init_settings),
            SectionedEnvSource(settings_cls),
            SectionedDotEnvSource(
                settings_cls, env_file=dotenv.env_file if dotenv else None,
                env_file_encoding=dotenv.env_file_encoding if dotenv else None,
            ),
            file_secret_settings,
        )

    @classmethod
    def variables(cls) -> dict[str, tuple[str, ...]]:
        """Every variable read (upper case), with the field it lands in: the core's
        (`("text_model",)`) or a section's (`("voice", "replies")`)."""
        return variables(cls)

    @model_validator(mode="after")
    def _resolve_across_sections(self) -> Self:
        # What only the whole sees, each section resolving its own against the core's
        # settings (voice: SPEECH_RECOGNITION unset is on with the models' credentials;
        # evaluation: a model unset is TEXT_MODEL). object.__setattr__: model_fields_set keeps
        # naming only what the deployment set.
        for name in sections(type(self)):
            object.__setattr__(self, name, getattr(self, name).resolved_with(self))
        return self

    def section(self, kind: type[S]) -> S:
        """This deployment's section of type `kind` (`settings.section(VoiceSettings)`),
        typed; a ConfigError when no registered feature has that section."""
        name = _field_of(type(self)).get(kind)
        if name is None:
            raise ConfigError(f"no feature with the settings section {kind.__name__} is "
                              "installed (bot/features/installed.py, FMBOT_PLUGINS)")
        value: S = getattr(self, name)
        return value

    def value(self, variable: str) -> object:
        """The value a variable holds, by its name (`settings.value("KB_MODE")`), defaults
        resolved: how one feature reads a setting of another's section without importing
        it; a ConfigError for a variable no setting reads."""
        where = _variables(type(self)).get(variable.upper())
        if where is None:
            raise ConfigError(f"{variable}: no setting reads this variable")
        found: object = self
        for name in where:
            found = getattr(found, name)
        return found

    def sections(self) -> dict[str, Section]:
        """Every section, by its feature's name."""
        return {name: getattr(self, name) for name in sections(type(self))}

    def check_yandex(self) -> None:
        """Fail with one message (a line per problem) when the Foundation Models settings
        cannot work (a section's endpoints too: SpeechKit's)."""
        raise_all(self.yandex_problems() + self._sections_endpoint_problems())

    def url_problems(self) -> list[str]:
        """Every Yandex endpoint (a section's too) that is not an http(s) URL with a host,
        one line each: the lines of `check_yandex` that a URL written in full fixes."""
        return self.endpoint_problems() + self._sections_endpoint_problems()

    def _sections_endpoint_problems(self) -> list[str]:
        return [line for section in self.sections().values()
                for line in section.endpoint_problems()]


@cache
def _variables(settings_cls: type[SettingsBase]) -> dict[str, tuple[str, ...]]:
    return variables(settings_cls)


@cache
def _field_of(settings_cls: type[SettingsBase]) -> dict[type[Section], str]:
    return {kind: name for name, kind in sections(settings_cls).items()}


class _Declares(Protocol):
    @property
    def name(self) -> str: ...
    @property
    def settings(self) -> type | None: ...


@dataclass(frozen=True, slots=True)
class SectionOf:
    """A section to compose under a name, without a feature (`App.load_settings`)."""

    name: str
    settings: type[Section]


def compose(features: Iterable[_Declares], base: type[SettingsBase] = SettingsBase, *,
            module: str | None = None) -> type[SettingsBase]:
    """Settings with a field per section the `features` declare (`Feature.settings`, a
    `Section`), named as the feature: the one list every loop reads composes the settings
    too, a plugin's section included."""
    fields: dict[str, Any] = {}
    for feature in features:
        kind = feature.settings
        if kind is None or feature.name in base.model_fields:
            continue
        if not (isinstance(kind, type) and issubclass(kind, Section)):
            raise TypeError(f"feature {feature.name!r}: its settings must be a "
                            f"bot.plugin.Section, not {kind!r}")
        fields[feature.name] = (kind, Field(default_factory=kind))
    if not fields:
        return base
    return create_model("Settings", __base__=base, __module__=module or base.__module__,
                        __doc__=base.__doc__,
                        **fields)
