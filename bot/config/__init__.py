"""The core's settings: every knob of a deployment that no feature owns, read from the
environment and `.env` (the Yandex models, Telegram, behaviour, infrastructure, extensions),
flat fields named as their variables (`settings.text_model` is TEXT_MODEL).

Each feature's own section lives in its folder (bot/features/<name>/settings.py), one nested
model (`Section`, bot/config/parsing.py) whose fields name their variables, read flat by the
sources of bot/config/sections.py; `Settings`, the core and the sections composed, is
bot/features/settings.py's (`from bot import Settings`; `settings.voice.replies`). The
variable names are the public contract (documented one by one in `.env.example`). Only the
command layer (`bot.cli`, `bot.wiring`) reads Settings; lower layers receive plain values or
their feature's section.
"""

from __future__ import annotations

from pydantic import SecretStr, field_validator

from bot.config.areas import (
    BehaviourSettings,
    ExtensionSettings,
    InfrastructureSettings,
    TelegramSettings,
    YandexSettings,
)
from bot.config.parsing import (
    _TOKEN_SHAPE,
    DEFAULT_SQLITE_URL,
    ConfigError,
    _default_replica_id,
    _host_port,
    _split_ids,
    blank_to,
    raise_all,
    split_names,
    url_problem,
)


class CoreSettings(
    YandexSettings,
    TelegramSettings,
    BehaviourSettings,
    InfrastructureSettings,
    ExtensionSettings,
):
    """The core areas together, with what reads across them: their validators, derived
    values and checks. The features' sections join them in `Settings`."""

    _split_id_lists = field_validator(
        "allowed_user_ids", "allowed_chat_ids", "admin_user_ids", mode="before"
    )(_split_ids)
    _split_model_list = field_validator("allowed_text_models", mode="before")(split_names)

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
                     "yandex_metadata_url", "telegram_api_url", "yandex_openai_url",
                     "yandex_responses_url", "yandex_images_url")
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
    def images_url(self) -> str:
        """YANDEX_IMAGES_URL; unset, the host Yandex documents for the Images API
        (https://aistudio.yandex.ru/docs/ru/ai-studio/api-ref/Images/createImage), or
        {YANDEX_LLM_URL}/v1 when that points elsewhere (a proxy, or the fake server in tests).
        Not YANDEX_OPENAI_URL: that names a text server, which need not draw."""
        if self.yandex_images_url:
            return self.yandex_images_url
        if self.yandex_llm_url == "https://llm.api.cloud.yandex.net":
            return "https://ai.api.cloud.yandex.net/v1"
        return f"{self.yandex_llm_url}/v1"

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

    @property
    def has_credentials(self) -> bool:
        """One of the models' credentials is set (whether it works is `check_yandex`'s)."""
        return bool(self.yandex_api_key or self.yandex_iam_token or self.yandex_sa_key_file
                    or self.yandex_use_metadata)

    def yandex_problems(self) -> list[str]:
        """What keeps the Foundation Models settings from working, one line each."""
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
        return problems + self.endpoint_problems()

    def endpoint_problems(self) -> list[str]:
        """The Yandex endpoints (YANDEX_*_URL) that are not http(s) URLs with a host, one line
        each (a proxy's URL is as good as Yandex's own)."""
        lines = (url_problem(field, getattr(self, field))
                 for field in ("yandex_llm_url", "yandex_operation_url", "yandex_iam_url",
                               "yandex_metadata_url", "yandex_openai_url",
                               "yandex_responses_url", "yandex_images_url"))
        return [line for line in lines if line is not None]

    def check_yandex(self) -> None:
        """Fail with one message (a line per problem) when the Foundation Models settings
        cannot work."""
        raise_all(self.yandex_problems())

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
        # Unchecked, a URL without a scheme made `run` retry "Telegram is not reachable"
        # every 30 s for ever, and `check` print the request URL, token and all.
        problems += self.telegram_url_problems()
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
        raise_all(problems)

    def telegram_url_problems(self) -> list[str]:
        """TELEGRAM_API_URL (and in webhook mode TELEGRAM_WEBHOOK_URL) when it is not an
        http(s) URL with a host, one line each."""
        urls = [("telegram_api_url", self.telegram_api_url)]
        if self.telegram_mode == "webhook":
            urls.append(("telegram_webhook_url", self.telegram_webhook_url))
        lines = (url_problem(name, value) for name, value in urls)
        return [line for line in lines if line is not None]

    @field_validator("allowed_chat_members_of", mode="before")
    @classmethod
    def _blank_is_zero(cls, value: object) -> object:
        # `ALLOWED_CHAT_MEMBERS_OF=` means "not set".
        return blank_to(value, 0)

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


__all__ = ["DEFAULT_SQLITE_URL", "ConfigError", "CoreSettings"]
