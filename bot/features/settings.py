"""Settings: every knob of a deployment, read from the environment and `.env`: the core's
areas (bot/config) and each feature's own section (bot/features/<name>/settings.py), composed
here, where features may be named (`from bot import Settings`).

The variable names are the public contract (documented one by one in `.env.example`); fields
are read flat (`settings.voice_replies`) or by area, as value objects with the defaults
resolved (`settings.voice.replies`, `settings.desk.chat_id`). Only the command layer
(`bot.cli`, `bot.wiring`, `bot.app`, `bot.testing`) reads Settings; a feature gets its area's
value object and plain values. Each feature's `Feature` declares its checks of its section,
which a command runs before it starts anything (bot/wiring/preflight.py)."""

from __future__ import annotations

from pathlib import Path

from pydantic import ValidationError
from pydantic_settings import SettingsConfigDict

from bot.config import CoreSettings
from bot.config.parsing import ConfigError, _raise_all
from bot.features.business.settings import BusinessSettings
from bot.features.desk.settings import DeskSettings
from bot.features.documents.settings import DocumentsSettings
from bot.features.evaluation.settings import EvaluationArea, EvaluationSettings
from bot.features.guest.settings import GuestSettings
from bot.features.knowledge.settings import KnowledgeSettings
from bot.features.rich.settings import RichSettings
from bot.features.tools.settings import ToolsSettings
from bot.features.vision.settings import VisionSettings
from bot.features.voice.settings import VoiceSettings
from bot.features.websearch.settings import WebSearchSettings

__all__ = ["Settings", "load_settings"]


class Settings(
    CoreSettings,
    BusinessSettings,
    RichSettings,
    GuestSettings,
    KnowledgeSettings,
    DeskSettings,
    ToolsSettings,
    VisionSettings,
    DocumentsSettings,
    VoiceSettings,
    WebSearchSettings,
    EvaluationSettings,
):
    """One deployment's configuration. Field names map to upper-case environment variables
    (`.env.example` documents each).

    In code, name them in lower case: `App(settings=Settings(telegram_bot_token="...",
    yandex_folder_id="...", yandex_api_key="..."))`. What is given wins over the environment
    and `.env`, which fill the rest. Each feature's area is one value object:
    `settings.voice`, `settings.desk`, `settings.knowledge`, `settings.tools`,
    `settings.vision`, `settings.documents`, `settings.websearch`, `settings.guest`,
    `settings.rich`, `settings.business`, `settings.evaluation`."""

    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", case_sensitive=False
    )

    @property
    def evaluation(self) -> EvaluationArea:
        """`fmbot eval`'s models, TEXT_MODEL where unset."""
        return self.evaluation_with(self.text_model)

    def check_yandex(self) -> None:
        """Fail with one message (a line per problem) when the Foundation Models settings
        cannot work (SpeechKit's endpoints too)."""
        _raise_all(self.yandex_problems() + self.speech_endpoint_problems())

    def check_agent_tools(self, text_api: str) -> None:
        """WEB_SEARCH=on and KB_BACKEND=yandex are tools of the Responses API."""
        _raise_all(self.web_search_problems(text_api) + self.kb_backend_problems(text_api))


def load_settings(env_file: str | Path | None = ".env") -> Settings:
    """Read Settings (the environment, then `env_file`), turning pydantic's report into one
    message naming every variable."""
    try:
        return Settings(_env_file=env_file)
    except ValidationError as exc:
        lines = []
        for error in exc.errors():
            name = str(error["loc"][0]).upper() if error["loc"] else "settings"
            message = error["msg"].removeprefix("Value error, ")  # pydantic's prefix says nothing
            lines.append(f"{name}: {message}")
        raise ConfigError("\n".join(dict.fromkeys(lines))) from None
