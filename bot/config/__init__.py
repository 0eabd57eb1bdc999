"""Settings: every knob of a deployment, read from the environment and `.env`.

The variable names are the public contract (documented one by one in `.env.example`).
Only the command layer (`bot.cli`, `bot.wiring`) reads Settings; lower layers receive
plain values.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import SettingsConfigDict

from bot.config.agent import AgentToolSettings
from bot.config.areas import (
    BehaviourSettings,
    DeskSettings,
    InfrastructureSettings,
    KnowledgeSettings,
    MediaSettings,
    TelegramSettings,
    ToolsSettings,
    YandexSettings,
)
from bot.config.parsing import (
    _TOKEN_SHAPE,
    DEFAULT_SQLITE_URL,
    ConfigError,
    _default_replica_id,
    _host_port,
    _raise_all,
    _split_ids,
    _split_names,
)
from bot.config.voice import VoiceSettings


class Settings(
    YandexSettings,
    TelegramSettings,
    BehaviourSettings,
    KnowledgeSettings,
    DeskSettings,
    ToolsSettings,
    MediaSettings,
    VoiceSettings,
    InfrastructureSettings,
    AgentToolSettings,
):
    """One deployment's configuration. Field names map to upper-case environment variables
    (`.env.example` documents each).

    In code, name them in lower case: `App(settings=Settings(telegram_bot_token="...",
    yandex_folder_id="...", yandex_api_key="..."))`. What is given wins over the environment
    and `.env`, which fill the rest."""

    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", case_sensitive=False
    )

    # --- Extending fmbot: plugins and the App's added parts -------------------------
    # Installed plugins to set up, by name (entry points of the group `fmbot.plugins`),
    # comma-separated; none by default.
    fmbot_plugins: str = ""
    # Seconds a context provider or a hook may take before the turn goes on without it.
    extension_timeout: float = Field(default=5.0, gt=0, le=300)

    _split_id_lists = field_validator(
        "allowed_user_ids", "allowed_chat_ids", "admin_user_ids", mode="before"
    )(_split_ids)
    _split_model_list = field_validator("allowed_text_models", mode="before")(_split_names)

    @field_validator(
        "yandex_api_key", "yandex_iam_token", "yandex_sa_key_file", "telegram_bot_token",
        "telegram_webhook_secret", "system_prompt_file", mode="before",
    )
    @classmethod
    def _blank_is_unset(cls, value: object) -> object:
        # `.env.example` copied as is leaves `YANDEX_API_KEY=`: an empty value means "not set".
        if isinstance(value, str) and not value.strip():
            return None
        return value

    @field_validator("telegram_bot_token", mode="after")
    @classmethod
    def _token_has_botfathers_shape(cls, value: SecretStr | None) -> SecretStr | None:
        # aiogram refuses a malformed token with a traceback deep inside Bot(); say it here,
        # in one line, without echoing the secret. Surrounding whitespace (a copy-paste) is
        # simply dropped.
        if value is None:
            return None
        token = value.get_secret_value().strip()
        if not _TOKEN_SHAPE.fullmatch(token):
            raise ValueError(
                "is not a bot token: expected the digits of the bot's id, a colon and the "
                "secret (like 123456789:AAH4x...) exactly as @BotFather gave it"
            )
        return SecretStr(token)

    @field_validator("speech_recognition", "desk_insights", mode="before")
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        # `SPEECH_RECOGNITION=` and `DESK_INSIGHTS=` (as .env.example has them) mean "not
        # set": on when credentials (a support chat) are there.
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("replica_id")
    @classmethod
    def _blank_replica_is_default(cls, value: str) -> str:
        return value.strip() or _default_replica_id()

    @field_validator("model_context_sizes", mode="before")
    @classmethod
    def _parse_context_sizes(cls, value: object) -> object:
        if isinstance(value, str):
            pairs = (item.split("=", 1) for item in value.split(",") if item.strip())
            return {name.strip(): int(size) for name, size in pairs}
        return value

    @field_validator("yandex_llm_url", "yandex_operation_url", "yandex_iam_url",
                     "yandex_metadata_url", "telegram_api_url", "yandex_openai_url", "stt_url",
                     "yandex_responses_url")
    @classmethod
    def _strip_slash(cls, value: str) -> str:
        return value.rstrip("/")

    # --- derived values ------------------------------------------------------------------------
    @property
    def openai_url(self) -> str:
        return self.yandex_openai_url or f"{self.yandex_llm_url}/v1"

    @property
    def responses_url(self) -> str:
        """YANDEX_RESPONSES_URL; unset, Yandex's documented host, or {YANDEX_LLM_URL}/v1 when
        that points elsewhere (a proxy, or the fake server in tests)."""
        if self.yandex_responses_url:
            return self.yandex_responses_url
        if self.yandex_llm_url == "https://llm.api.cloud.yandex.net":
            return "https://ai.api.cloud.yandex.net/v1"
        return f"{self.yandex_llm_url}/v1"

    @property
    def speech_on(self) -> bool:
        """SPEECH_RECOGNITION, unset meaning on when model credentials are set."""
        if self.speech_recognition is not None:
            return self.speech_recognition == "on"
        return bool(
            self.yandex_api_key or self.yandex_iam_token or self.yandex_sa_key_file
            or self.yandex_use_metadata
        )

    @property
    def voice_replies_mode(self) -> str:
        """VOICE_REPLIES, unset meaning mirror when speech recognition is on."""
        if self.voice_replies is not None:
            return self.voice_replies
        return "mirror" if self.speech_on else "off"

    @property
    def text_models(self) -> list[str]:
        """The models a chat may choose; the default model always comes first."""
        models = [self.text_model]
        models += [m for m in self.allowed_text_models if m != self.text_model]
        return models

    def resolved_system_prompt(self) -> str:
        """The system prompt: SYSTEM_PROMPT_FILE's text, else SYSTEM_PROMPT (fmbot's own
        unless set)."""
        if self.system_prompt_file is not None:
            try:
                return self.system_prompt_file.read_text(encoding="utf-8").strip()
            except OSError as exc:
                raise ConfigError(
                    f"SYSTEM_PROMPT_FILE: cannot read {self.system_prompt_file}: {exc.strerror}"
                ) from exc
        return self.system_prompt.strip()

    def check_yandex(self) -> None:
        """Fail with one message (a line per problem) when the Foundation Models settings
        cannot work."""
        methods = [
            name
            for name, present in (
                ("YANDEX_API_KEY", self.yandex_api_key is not None),
                ("YANDEX_IAM_TOKEN", self.yandex_iam_token is not None),
                ("YANDEX_SA_KEY_FILE", self.yandex_sa_key_file is not None),
                ("YANDEX_USE_METADATA", self.yandex_use_metadata),
            )
            if present
        ]
        problems: list[str] = []
        if not methods:
            problems.append(
                "Yandex credentials are missing: set one of YANDEX_API_KEY, YANDEX_IAM_TOKEN, "
                "YANDEX_SA_KEY_FILE or YANDEX_USE_METADATA=true"
            )
        if len(methods) > 1:
            problems.append(
                f"Contradictory Yandex credentials: {' and '.join(methods)} are both set; "
                "keep exactly one"
            )
        if not self.yandex_folder_id.strip():
            problems.append("YANDEX_FOLDER_ID is not set: the id of your Yandex Cloud folder")
        if self.yandex_sa_key_file is not None and not self.yandex_sa_key_file.is_file():
            problems.append(f"YANDEX_SA_KEY_FILE: no such file {self.yandex_sa_key_file}")
        for field in ("yandex_llm_url", "yandex_operation_url", "yandex_iam_url",
                      "yandex_openai_url", "yandex_responses_url", "stt_url", "tts_url"):
            value = getattr(self, field)
            if value and not _is_http_url(value):
                default = type(self).model_fields[field].default
                fix = (f"leave it unset for Yandex's own ({default})" if default
                       else "an https:// URL, or unset")
                problems.append(f"{field.upper()}: {value!r} cannot be a Yandex endpoint: "
                                f"{fix}")
        _raise_all(problems)

    def no_effect(self) -> list[str]:
        """Settings this deployment set that no longer do anything: one line each, for the log
        (accepted so that old .env files still load, never silently)."""
        lines = []
        if "telegram_message_burst" in self.model_fields_set:
            lines.append(
                "TELEGRAM_MESSAGE_BURST has no effect any more (the bot-wide limit is 30 "
                "messages in any second); remove it from your settings"
            )
        return lines

    def check_telegram(self) -> None:
        """Fail with one message (a line per problem) when the Telegram settings cannot work:
        no token, a webhook without its URL or secret, two system prompts."""
        problems: list[str] = []
        if self.telegram_bot_token is None or not self.telegram_bot_token.get_secret_value():
            problems.append("TELEGRAM_BOT_TOKEN is not set: the token @BotFather gave you")
        if self.telegram_mode == "webhook":
            if not self.telegram_webhook_url:
                problems.append("TELEGRAM_WEBHOOK_URL is required when TELEGRAM_MODE=webhook")
            if self.telegram_webhook_secret is None:
                problems.append(
                    "TELEGRAM_WEBHOOK_SECRET is required when TELEGRAM_MODE=webhook "
                    "(1-256 characters A-Z, a-z, 0-9, _ and -)"
                )
        if self.system_prompt and self.system_prompt_file is not None:
            problems.append("SYSTEM_PROMPT and SYSTEM_PROMPT_FILE are both set; keep one")
        _raise_all(problems)

    @field_validator("support_chat_id", "allowed_chat_members_of", mode="before")
    @classmethod
    def _blank_is_zero(cls, value: object) -> object:
        # `SUPPORT_CHAT_ID=` as `.env.example` has it means "not set".
        if isinstance(value, str) and not value.strip():
            return 0
        return value

    def check_support(self) -> None:
        """SUPPORT_TIMEZONE and SUPPORT_CHAT_ID must make sense before the bot starts
        (SUPPORT_HOURS is parsed by the desk's `check_support`, which knows its form:
        bot/features/desk/build.py)."""
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        problems: list[str] = []
        try:
            ZoneInfo(self.support_timezone)
        except (ZoneInfoNotFoundError, ValueError):
            problems.append(
                f"SUPPORT_TIMEZONE: unknown time zone {self.support_timezone!r} "
                "(an IANA name such as Europe/Moscow)"
            )
        if self.support_chat_id > 0:
            problems.append(
                "SUPPORT_CHAT_ID must be a supergroup id (negative, starting with -100)"
            )
        _raise_all(problems)

    def check_replicas(self) -> None:
        """REDIS_URL means several replicas: they need one database server, not a file each."""
        if not self.redis_url:
            return
        scheme = self.redis_url.split("://", 1)[0].lower()
        if scheme not in ("redis", "rediss", "unix"):
            raise ConfigError(
                f"REDIS_URL must start with redis://, rediss:// or unix:// (got {scheme}://...)"
            )
        if self.database_url.lower().startswith("sqlite"):
            raise ConfigError(
                "REDIS_URL is set but DATABASE_URL is SQLite: several replicas need one "
                "PostgreSQL database (DATABASE_URL=postgresql+asyncpg://user:pass@host/db); "
                "unset REDIS_URL to run a single process on SQLite"
            )

    @property
    def metrics_host_port(self) -> tuple[str, int]:
        return _host_port("METRICS_LISTEN", self.metrics_listen)

    @property
    def webhook_host_port(self) -> tuple[str, int]:
        host, _, port = self.telegram_webhook_listen.rpartition(":")
        try:
            return host or "0.0.0.0", int(port)
        except ValueError as exc:
            raise ConfigError(
                f"TELEGRAM_WEBHOOK_LISTEN must be host:port, got {self.telegram_webhook_listen!r}"
            ) from exc


def _is_http_url(value: str) -> bool:
    parts = urlsplit(value)
    return parts.scheme in ("http", "https") and bool(parts.hostname)


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


__all__ = ["DEFAULT_SQLITE_URL", "ConfigError", "Settings", "load_settings"]
