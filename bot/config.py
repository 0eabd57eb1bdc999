"""Settings: every knob of a deployment, read from the environment and `.env`.

The variable names are the public contract (documented one by one in `.env.example`).
Only the command layer (`bot.commands`, `bot.wiring`) reads Settings; lower layers receive
plain values.
"""

from __future__ import annotations

import os
import re
import socket
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, SecretStr, ValidationError, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

DEFAULT_SQLITE_URL = "sqlite+aiosqlite:///fmbot.db"


class ConfigError(Exception):
    """A missing or contradictory setting; the message names the variable to set."""


def _split_ids(value: object) -> object:
    if isinstance(value, str):
        return [int(part) for part in value.replace(";", ",").split(",") if part.strip()]
    return value


def _split_names(value: object) -> object:
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return value


# What @BotFather issues: the bot id, a colon, then the secret (letters, digits, _ and -).
_TOKEN_SHAPE = re.compile(r"[0-9]+:[A-Za-z0-9_-]+")


class Settings(BaseSettings):
    """One deployment's configuration. Field names map to upper-case environment variables."""

    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", case_sensitive=False
    )

    # --- Yandex Cloud Foundation Models -------------------------------------------------------
    yandex_folder_id: str = ""
    yandex_api_key: SecretStr | None = None
    yandex_iam_token: SecretStr | None = None
    yandex_sa_key_file: Path | None = None
    yandex_use_metadata: bool = False
    yandex_llm_url: str = "https://llm.api.cloud.yandex.net"
    yandex_operation_url: str = "https://operation.api.cloud.yandex.net"
    yandex_iam_url: str = "https://iam.api.cloud.yandex.net"
    yandex_metadata_url: str = "http://169.254.169.254"
    yandex_data_logging: bool = False
    yandex_max_concurrent_generations: int = Field(default=10, ge=1, le=1000)
    # Seconds of silence between streamed chunks before an answer is given up as stalled.
    yandex_idle_timeout: float = Field(default=30.0, gt=0)
    # "native" speaks /foundationModels/v1/completion; "openai" speaks {llm}/v1/chat/completions
    # (Yandex's OpenAI-compatible models, or any compatible server at YANDEX_OPENAI_URL).
    text_api: Literal["native", "openai"] = "native"
    yandex_openai_url: str = ""
    text_model: str = "yandexgpt/latest"
    image_model: str = "yandex-art/latest"
    # Text models a chat may pick with /model (short names or URIs); empty = only TEXT_MODEL.
    allowed_text_models: Annotated[list[str], NoDecode] = Field(default_factory=list)
    temperature: float = Field(default=0.3, ge=0.0, le=1.0)
    max_reply_tokens: int = Field(default=2000, ge=1, le=32000)
    # "model=tokens,..." overrides of the known context sizes.
    model_context_sizes: Annotated[dict[str, int], NoDecode] = Field(default_factory=dict)

    # --- Telegram ------------------------------------------------------------------------------
    telegram_bot_token: SecretStr | None = None
    telegram_api_url: str = "https://api.telegram.org"
    telegram_mode: Literal["polling", "webhook"] = "polling"
    telegram_webhook_url: str = ""
    telegram_webhook_secret: SecretStr | None = None
    telegram_webhook_listen: str = "0.0.0.0:8080"

    # --- Outbound pacing (bot/telegram/outbox) --------------------------------------------------
    # No effect since the bot-wide budget is a rolling window (30 in any second); kept so that
    # existing .env files still load.
    telegram_message_burst: float = Field(default=5.0, ge=1.0, le=30.0)
    # Drafts: seconds between two drafts in one chat; bot-wide drafts per second (the ceiling a
    # draft 429 lowers, halving down to the floor), and seconds to climb back to the ceiling.
    telegram_draft_interval: float = Field(default=1.0, ge=0.2)
    telegram_draft_rate: float = Field(default=200.0, gt=0)
    telegram_draft_rate_floor: float = Field(default=5.0, gt=0)
    telegram_draft_recovery: float = Field(default=60.0, ge=0)
    # A final message that must wait for the bot-wide 30 a second shows its whole text at once
    # as a last draft (drafts are outside that budget); off: the draft shows the last frame.
    telegram_final_preview: bool = True
    # A draft frame whose slot has come goes with the stream's next chunk, this many seconds
    # after its slot at most (0: a timer sends it at the slot).
    telegram_frame_grace: float = Field(default=0.5, ge=0)

    # --- Behaviour -----------------------------------------------------------------------------
    system_prompt: str = ""
    system_prompt_file: Path | None = None
    allowed_user_ids: Annotated[list[int], NoDecode] = Field(default_factory=list)
    allowed_chat_ids: Annotated[list[int], NoDecode] = Field(default_factory=list)
    admin_user_ids: Annotated[list[int], NoDecode] = Field(default_factory=list)
    rate_limit_per_minute: int = Field(default=20, ge=0)
    daily_token_limit: int = Field(default=0, ge=0)  # 0 = unlimited
    daily_image_limit: int = Field(default=20, ge=0)  # 0 = unlimited
    retention_days: int = Field(default=0, ge=0)  # 0 = keep forever
    # Messages still queued (or answers cut short) when the bot stopped are answered after the
    # restart; older than this many seconds, QUEUE_STALE_ACTION says what happens to them.
    queue_max_age: int = Field(default=3600, ge=0)
    # "apologize": answered, after one short apology per chat; "drop": not answered, and one
    # message per chat says so.
    queue_stale_action: Literal["apologize", "drop"] = "apologize"

    # --- Knowledge base (issue 16) --------------------------------------------------------------
    # Folders of documents, comma-separated; empty = no knowledge base.
    kb_path: Annotated[list[Path], NoDecode] = Field(default_factory=list)
    # off | assist | strict; unset = assist when KB_PATH is set, off otherwise.
    kb_mode: Literal["off", "assist", "strict"] | None = None
    kb_top_k: int = Field(default=5, ge=1, le=50)
    # Cosine similarity of the best passage below which a question counts as not covered.
    kb_min_score: float = Field(default=0.35, ge=-1.0, le=1.0)
    # Seconds between background syncs in `run` (0 = only at start).
    kb_sync_interval: float = Field(default=600.0, ge=0)
    embedding_doc_model: str = "text-search-doc/latest"
    embedding_query_model: str = "text-search-query/latest"
    # Embedding requests per second (the folder's quota; Yandex's default is 10).
    embedding_rps: float = Field(default=10.0, gt=0, le=1000)

    # --- Knowledge base: removal guard (issue 27) -----------------------------------------------
    # A sync that would remove this share of the indexed documents or more (an empty or
    # unmounted folder) keeps them and says so, until `kb sync --allow-removal`; 1 = only one
    # that would remove every document, 0.5 = half of them or more.
    kb_removal_limit: float = Field(default=1.0, gt=0, le=1)

    @field_validator("kb_path", mode="before")
    @classmethod
    def _split_paths(cls, value: object) -> object:
        if isinstance(value, str):
            return [Path(part.strip()) for part in value.split(",") if part.strip()]
        return value

    @field_validator("kb_mode", mode="before")
    @classmethod
    def _blank_mode(cls, value: object) -> object:
        if isinstance(value, str):
            return value.strip().lower() or None
        return value

    @property
    def kb_effective_mode(self) -> str:
        """KB_MODE, or its default: assist with KB_PATH, off without."""
        if self.kb_mode is not None:
            return self.kb_mode
        return "assist" if self.kb_path else "off"

    def check_kb(self) -> None:
        if self.kb_effective_mode != "off" and not self.kb_path:
            raise ConfigError(f"KB_MODE={self.kb_effective_mode} needs KB_PATH: the folders "
                              "of documents to answer from")
        for folder in self.kb_path:
            if not folder.expanduser().is_dir():
                raise ConfigError(f"KB_PATH: no such folder {folder}")

    # --- "Not found" next step (issue 27) -----------------------------------------------------
    # Shown under a "not found" answer of the knowledge base when there is no support desk
    # (SUPPORT_CHAT_ID unset): where to turn next, e.g. "Write to help@example.com". Empty: none.
    kb_not_found_contact: str = Field(default="", max_length=1000)

    # --- Support desk (issue 17) ---------------------------------------------------------------
    # The operators' supergroup (topics enabled, the bot an admin that may manage topics);
    # 0 = no handoff at all.
    support_chat_id: int = 0
    # When people answer, e.g. "Mon-Fri 09:00-18:00" (several ranges separated by ";");
    # empty = always.
    support_hours: str = ""
    support_timezone: str = "UTC"
    handoff_classifier: Literal["on", "off"] = "off"
    csat: Literal["on", "off"] = "on"
    # Admit exactly the members of this chat (checked with getChatMember); 0 = not used.
    allowed_chat_members_of: int = 0

    # --- Tools: the loop (issue 24) -----------------------------------------------------------
    # Rounds of tool calls in one turn; after that the model is asked once more without tools
    # and told to answer now.
    tools_max_rounds: int = Field(default=6, ge=1, le=50)
    # Seconds a confirmation waits for the user's press before the call expires.
    tools_confirm_ttl: float = Field(default=600.0, gt=0)
    # Characters of one tool result given to the model (the rest is cut, and it is told so).
    tools_result_chars: int = Field(default=4000, ge=200, le=100_000)
    # Calls of one round that run at once.
    tools_parallel: int = Field(default=4, ge=1, le=32)
    # Models offered tools (base names, as in TEXT_MODEL without folder or version); the
    # others answer without them. Default: those Yandex records as calling functions.
    tools_models: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: ["yandexgpt", "llama", "qwen3-235b-a22b-fp8", "gemma-3-27b-it"]
    )
    _split_tools_models = field_validator("tools_models", mode="before")(_split_names)

    # --- Photos and voice notes (issue 28) ------------------------------------------------------
    # The model that answers photos and screenshots (OpenAI-compatible API, images as data:
    # URLs); empty = photos are answered "text only", as before.
    vision_model: str = "gemma-3-27b-it/latest"
    # Largest image taken, in MB (Telegram lets bots download at most 20 MB).
    max_image_mb: float = Field(default=10.0, gt=0, le=20)
    # Voice notes and OGG/Opus audio (up to 30 s, 1 MB) through SpeechKit STT with the models'
    # credentials; unset = on when credentials are set.
    speech_recognition: Literal["on", "off"] | None = None

    @field_validator("speech_recognition", "desk_insights", mode="before")
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        # `SPEECH_RECOGNITION=` and `DESK_INSIGHTS=` (as .env.example has them) mean "not
        # set": on when credentials (a support chat) are there.
        return None if isinstance(value, str) and not value.strip() else value

    stt_url: str = "https://stt.api.cloud.yandex.net"
    # Seconds a file download from Telegram may take in all.
    media_download_timeout: float = Field(default=30.0, gt=0)

    # --- Documents sent in chat (issue 28) ------------------------------------------------------
    # Largest PDF, DOCX or text file read in chat, in MB (Telegram lets bots download at most
    # 20 MB). Its text is kept for the conversation; /reset and /forget drop it.
    max_document_mb: float = Field(default=20.0, gt=0, le=20)

    # --- Desk insights (issue 26) ----------------------------------------------------------------
    # Handoff summaries and tags, final summaries (and later FAQ drafts and content gaps),
    # made in Yandex's asynchronous mode; unset = on when SUPPORT_CHAT_ID is set.
    desk_insights: Literal["on", "off"] | None = None
    # YandexGPT Pro through completionAsync (half the synchronous price), JSON-schema output;
    # a model without an asynchronous mode (Qwen, gpt-oss, Gemma) runs the jobs synchronously.
    insights_model: str = "yandexgpt/latest"
    # Seconds between two content-gap analyses (default: daily).
    insights_interval: float = Field(default=86400.0, gt=0)
    # FAQ drafts a person approved are appended to this .jsonl file in the first KB_PATH
    # folder (indexed by the next sync); a draft at least this similar (cosine of the
    # embeddings) to a passage or another draft is dropped as a duplicate.
    kb_drafts_file: str = "faq-from-desk.jsonl"
    kb_drafts_similarity: float = Field(default=0.76, gt=0, le=1)  # `insights eval-faq`

    @property
    def desk_insights_on(self) -> bool:
        if not self.support_chat_id:
            return False
        return self.desk_insights != "off"

    # --- Infrastructure ------------------------------------------------------------------------
    database_url: str = DEFAULT_SQLITE_URL
    log_level: str = "INFO"
    log_format: Literal["text", "json"] = "text"

    # --- Several replicas and operations -------------------------------------------------------
    # Redis for what replicas share (leases, outbound budgets, the generation cap, the poller);
    # empty = one process. Needs a PostgreSQL DATABASE_URL (see `check_replicas`).
    redis_url: str = ""
    # Names this process in logs and metrics; the default is "<host name>-<pid>".
    replica_id: str = Field(default_factory=lambda: _default_replica_id())
    # host:port serving /metrics, /healthz and /readyz; empty = not served.
    metrics_listen: str = ""

    # --- Tools: sources (issue 24) ------------------------------------------------------------
    # A TOML file of the tools the model may call: [[http]] actions and [mcp.<name>] servers
    # (docs/tools.md); empty = none.
    tools_file: Path | None = None
    # Signs every HTTP action's request (RFC 9421, hmac-sha256) so the API can trust who is
    # asking, the path, the query and the body; empty = unsigned.
    tools_signing_secret: SecretStr | None = None
    # Or: an Ed25519 private key (PEM) to sign with (RFC 9421, ed25519): the API holds only the
    # public key. Not both.
    tools_signing_key: Path | None = None
    # Per-user limits on tool calls (rolling windows, across replicas; admins exempt; 0 = none):
    # past them the call is not made, the model is told and the user sees one line.
    tools_calls_per_user_hour: int = Field(default=60, ge=0)
    tools_writes_per_user_day: int = Field(default=20, ge=0)
    # The `keyid` of the signatures (the API looks the key up by it).
    tools_signing_key_id: str = Field(default="fmbot", min_length=1, max_length=100)

    @field_validator("tools_signing_key", mode="after")
    @classmethod
    def _one_signing_key(cls, value: Path | None, info: ValidationInfo) -> Path | None:
        if value is not None and info.data.get("tools_signing_secret") is not None:
            raise ValueError(
                "set together with TOOLS_SIGNING_SECRET: keep one (the key signs with ed25519 "
                "and the API holds only its public key; the secret signs with hmac-sha256)"
            )
        return value

    @field_validator("tools_file", "tools_signing_secret", "tools_signing_key", mode="before")
    @classmethod
    def _blank_tools_is_unset(cls, value: object) -> object:
        if isinstance(value, str) and not value.strip():
            return None
        return value
    # --- Extending fmbot: plugins and the App's added parts (issue 25) -------------------------
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
                     "yandex_metadata_url", "telegram_api_url", "yandex_openai_url", "stt_url")
    @classmethod
    def _strip_slash(cls, value: str) -> str:
        return value.rstrip("/")

    # --- derived values ------------------------------------------------------------------------
    @property
    def openai_url(self) -> str:
        return self.yandex_openai_url or f"{self.yandex_llm_url}/v1"

    @property
    def speech_on(self) -> bool:
        """SPEECH_RECOGNITION, unset meaning on when model credentials are set."""
        if self.speech_recognition is not None:
            return self.speech_recognition == "on"
        return bool(
            self.yandex_api_key or self.yandex_iam_token or self.yandex_sa_key_file
            or self.yandex_use_metadata
        )  # fmt: skip

    @property
    def text_models(self) -> list[str]:
        """The models a chat may choose; the default model always comes first."""
        models = [self.text_model]
        models += [m for m in self.allowed_text_models if m != self.text_model]
        return models

    def resolved_system_prompt(self) -> str:
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
        _raise_all(problems)

    def check_telegram(self) -> None:
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
        (SUPPORT_HOURS is parsed by `bot.preflight`, which knows its form)."""
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


def _raise_all(problems: list[str]) -> None:
    """One ConfigError naming every problem found, a line each."""
    if problems:
        raise ConfigError("\n".join(problems))


def _default_replica_id() -> str:
    return f"{socket.gethostname()}-{os.getpid()}"


def _host_port(name: str, value: str) -> tuple[str, int]:
    host, _, port = value.rpartition(":")
    try:
        number = int(port)
    except ValueError:
        number = -1
    if not 0 <= number <= 65535:
        raise ConfigError(f"{name} must be host:port, got {value!r}")
    return host or "0.0.0.0", number


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
