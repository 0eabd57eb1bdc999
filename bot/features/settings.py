"""Settings: every knob of a deployment, read from the environment and `.env`: the core's
areas (bot/config, flat fields: `settings.text_model`) and each feature's own section
(bot/features/<name>/settings.py), one nested model each (`settings.voice.replies`,
`settings.desk.chat_id`), composed here, where features may be named (`from bot import
Settings`).

The variable names are the public contract (documented one by one in `.env.example`): a
section's fields name theirs (VOICE_REPLIES), read flat from the environment, `.env` and
keywords (`Settings(voice_replies="always")`, bot/config/sections.py); a section may also be
given whole (`Settings(voice=VoiceSettings(replies="always"))`). Defaults that depend on other
sections or on the core are resolved here, once (`_resolve_across_sections`); those within a
section, by the section. Only the command layer (`bot.cli`, `bot.wiring`, `bot.app`,
`bot.testing`) and the features' declarations read Settings; a feature's parts get its
section and plain values. Each feature's `Feature` declares its checks of its section (the
section's methods), which a command runs before it starts anything
(bot/wiring/preflight.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Self

from pydantic import Field, ValidationError, model_validator
from pydantic_settings import (
    BaseSettings,
    DotEnvSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from bot.config import CoreSettings
from bot.config.parsing import ConfigError, raise_all
from bot.config.sections import (
    SectionedDotEnvSource,
    SectionedEnvSource,
    SectionedInitSource,
    sections,
    variables,
)
from bot.features.business.settings import BusinessSettings
from bot.features.desk.settings import DeskSettings
from bot.features.documents.settings import DocumentsSettings
from bot.features.evaluation.settings import EvaluationSettings
from bot.features.guest.settings import GuestSettings
from bot.features.knowledge.settings import KnowledgeSettings
from bot.features.rich.settings import RichSettings
from bot.features.tools.settings import ToolsSettings
from bot.features.vision.settings import VisionSettings
from bot.features.voice.settings import VoiceSettings
from bot.features.websearch.settings import WebSearchSettings

__all__ = ["Settings", "load_settings"]


class Settings(CoreSettings):
    """One deployment's configuration. Each variable is documented in `.env.example`.

    In code, name them in lower case: `App(settings=Settings(telegram_bot_token="...",
    yandex_folder_id="...", yandex_api_key="..."))`, a feature's too
    (`Settings(voice_replies="always")`). What is given wins over the environment and `.env`,
    which fill the rest. The core's are read flat (`settings.text_model`); each feature's
    section is one value: `settings.voice`, `settings.desk`, `settings.knowledge`,
    `settings.tools`, `settings.vision`, `settings.documents`, `settings.websearch`,
    `settings.guest`, `settings.rich`, `settings.business`, `settings.evaluation`."""

    business: BusinessSettings = Field(default_factory=BusinessSettings)
    rich: RichSettings = Field(default_factory=RichSettings)
    guest: GuestSettings = Field(default_factory=GuestSettings)
    knowledge: KnowledgeSettings = Field(default_factory=KnowledgeSettings)
    desk: DeskSettings = Field(default_factory=DeskSettings)
    tools: ToolsSettings = Field(default_factory=ToolsSettings)
    vision: VisionSettings = Field(default_factory=VisionSettings)
    documents: DocumentsSettings = Field(default_factory=DocumentsSettings)
    voice: VoiceSettings = Field(default_factory=VoiceSettings)
    websearch: WebSearchSettings = Field(default_factory=WebSearchSettings)
    evaluation: EvaluationSettings = Field(default_factory=EvaluationSettings)

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
        # What only the whole sees: SPEECH_RECOGNITION unset is on with the models'
        # credentials (and VOICE_REPLIES then mirror); STT_URL and TTS_URL unset follow
        # YANDEX_LLM_URL when it is not Yandex's; an evaluation model unset, TEXT_MODEL.
        # object.__setattr__: model_fields_set keeps naming only what the deployment set.
        object.__setattr__(self, "voice", self.voice.resolved(
            credentials=self.has_credentials, llm_url=self.yandex_llm_url))
        object.__setattr__(self, "evaluation", self.evaluation.resolved(self.text_model))
        return self

    def check_yandex(self) -> None:
        """Fail with one message (a line per problem) when the Foundation Models settings
        cannot work (SpeechKit's endpoints too)."""
        raise_all(self.yandex_problems() + self.voice.endpoint_problems())

    def url_problems(self) -> list[str]:
        """Every Yandex endpoint (SpeechKit's too) that is not an http(s) URL with a host, one
        line each: the lines of `check_yandex` that a URL written in full fixes."""
        return self.endpoint_problems() + self.voice.endpoint_problems()


def load_settings(env_file: str | Path | None = ".env") -> Settings:
    """Read Settings (the environment, then `env_file`), turning pydantic's report into one
    message naming every variable."""
    try:
        return Settings(_env_file=env_file)
    except ValidationError as exc:
        lines = []
        for error in exc.errors():
            message = error["msg"].removeprefix("Value error, ")  # pydantic's prefix says nothing
            lines.append(f"{variable_of(error['loc'])}: {message}")
        raise ConfigError("\n".join(dict.fromkeys(lines))) from None


def variable_of(loc: tuple[int | str, ...]) -> str:
    """The variable a validation error's location names: a root field's (`("text_model",)`)
    or a section's (`("voice", "VOICE_REPLIES")`, or by field name `("voice", "replies")`)."""
    if not loc:
        return "settings"
    head = str(loc[0])
    section = sections(Settings).get(head)
    if section is not None and len(loc) > 1:
        key = str(loc[1])
        return section.variables().get(key, key)
    return head.upper()
