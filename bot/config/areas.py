"""The settings of each core area of a deployment, one class each; `CoreSettings`
(bot/config/__init__.py) is all of them together, and `Settings` (bot/features/settings.py)
adds each feature's own section (bot/features/<name>/settings.py). Field names map to
upper-case environment variables."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode

from bot.config.parsing import DEFAULT_SQLITE_URL, _default_replica_id


class YandexSettings(BaseSettings):
    """Yandex Cloud Foundation Models: the folder, credentials, endpoints and quotas."""

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
    # (Yandex's OpenAI-compatible models, or any compatible server at YANDEX_OPENAI_URL);
    # "responses" speaks AI Studio's Responses API at YANDEX_RESPONSES_URL/responses.
    text_api: Literal["native", "openai", "responses"] = "native"
    yandex_openai_url: str = ""
    yandex_responses_url: str = ""
    # The Images API's base URL (Alice AI ART); empty: Yandex's documented host (see
    # Settings.images_url).
    yandex_images_url: str = ""
    # Hidden reasoning where the model takes it: the native API's ENABLED_HIDDEN (YandexGPT
    # Pro), the OpenAI-compatible reasoning_effort (gpt-oss). Not on TEXT_API=responses.
    reasoning: Literal["off", "on"] = "off"
    reasoning_effort: Literal["low", "medium", "high"] = "medium"
    text_model: str = "yandexgpt/latest"
    image_model: str = "aliceai-image-art-3.0"
    # Text models a chat may pick with /model (short names or URIs); empty = only TEXT_MODEL.
    allowed_text_models: Annotated[list[str], NoDecode] = Field(default_factory=list)
    temperature: float = Field(default=0.3, ge=0.0, le=1.0)
    max_reply_tokens: int = Field(default=2000, ge=1, le=32000)
    # "model=tokens,..." overrides of the known context sizes.
    model_context_sizes: Annotated[dict[str, int], NoDecode] = Field(default_factory=dict)
    # The embedding models (the knowledge base's documents and questions, the support desk's
    # FAQ drafts and content gaps) and their requests per second (the folder's quota;
    # Yandex's default is 10), shared by everything that embeds.
    embedding_doc_model: str = "text-search-doc/latest"
    embedding_query_model: str = "text-search-query/latest"
    embedding_rps: float = Field(default=10.0, gt=0, le=1000)


class TelegramSettings(BaseSettings):
    """Telegram: the bot, how updates arrive, and the outbound pacing."""

    # --- Telegram ------------------------------------------------------------------------------
    telegram_bot_token: SecretStr | None = None
    telegram_api_url: str = "https://api.telegram.org"
    telegram_mode: Literal["polling", "webhook"] = "polling"
    telegram_webhook_url: str = ""
    telegram_webhook_secret: SecretStr | None = None
    telegram_webhook_listen: str = "0.0.0.0:8080"
    # The bot's web server in polling mode, host:port (127.0.0.1:8081); empty = off. It serves
    # the features' pages (the console, the employee sign-in's /oidc/callback); in webhook
    # mode the webhook's server serves them instead.
    web_listen: str = ""
    # How browsers reach the bot's web server (https://support.example.com): sign-in links
    # and the OpenID Connect callbacks start with it; https makes the cookies Secure.
    public_url: str = ""
    # Seconds a file download from Telegram may take in all (photos, voice notes, documents).
    media_download_timeout: float = Field(default=30.0, gt=0)

    # --- Outbound pacing (bot/telegram/outbox) --------------------------------------------------
    # No effect since the bot-wide budget is a rolling window (30 in any second); kept so that
    # existing .env files still load, and named in the log when it is set (`no_effect`).
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

    @field_validator("public_url")
    @classmethod
    def _public_url(cls, value: str) -> str:
        value = value.strip().rstrip("/")
        if value and not value.startswith(("http://", "https://")):
            raise ValueError("PUBLIC_URL must start with http:// or https://")
        return value

    @field_validator("web_listen")
    @classmethod
    def _web_listen(cls, value: str) -> str:
        value = value.strip()
        if value:
            host, sep, port = value.rpartition(":")
            if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
                raise ValueError("WEB_LISTEN must be host:port, e.g. 127.0.0.1:8081")
        return value

    @property
    def web_host_port(self) -> tuple[str, int]:
        host, _, port = self.web_listen.rpartition(":")
        return host.strip("[]"), int(port)


class BehaviourSettings(BaseSettings):
    """How the bot answers: models, prompts, history and limits."""

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
    # Admit exactly the members of this chat (checked with getChatMember); 0 = not used.
    allowed_chat_members_of: int = 0
    # Seconds a membership answer is trusted before getChatMember is asked again: someone who
    # leaves that chat (a connected account's owner too) loses access within this time.
    allowed_chat_members_ttl: int = Field(default=300, ge=0, le=86_400)


class InfrastructureSettings(BaseSettings):
    """Infrastructure: the database, logs, replicas and operations."""

    # --- Infrastructure ------------------------------------------------------------------------
    database_url: str = DEFAULT_SQLITE_URL
    # Seconds a database outage (a failover, a restart) may last unnoticed by users: turns
    # wait for the database and are answered once it is back. Past it, each waiting chat is
    # told once that the bot is unavailable and will answer (it still does).
    database_outage_grace: float = Field(default=60.0, ge=0)
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


class ExtensionSettings(BaseSettings):
    """Extending fmbot: plugins and the App's added parts."""

    # Installed plugins to set up, by name (entry points of the group `fmbot.plugins`),
    # comma-separated; none by default.
    fmbot_plugins: str = ""
    # Seconds a context provider or a hook may take before the turn goes on without it.
    extension_timeout: float = Field(default=5.0, gt=0, le=300)
