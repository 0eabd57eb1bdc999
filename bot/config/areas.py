"""The settings of each area of a deployment, one class each; `Settings` (bot/config/__init__.py)
is all of them together. Field names map to upper-case environment variables."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, SecretStr, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, NoDecode

from bot.config.parsing import DEFAULT_SQLITE_URL, ConfigError, _default_replica_id, _split_names


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


class TelegramSettings(BaseSettings):
    """Telegram: the bot, how updates arrive, and the outbound pacing."""

    # --- Telegram ------------------------------------------------------------------------------
    telegram_bot_token: SecretStr | None = None
    telegram_api_url: str = "https://api.telegram.org"
    telegram_mode: Literal["polling", "webhook"] = "polling"
    telegram_webhook_url: str = ""
    telegram_webhook_secret: SecretStr | None = None
    telegram_webhook_listen: str = "0.0.0.0:8080"
    # Guest mode (Bot API 10.0): answer when @mentioned in a chat the bot is not a member of
    # (switched on in @BotFather); off: guest queries are not even asked for.
    guest_mode: Literal["on", "off"] = "on"
    # Chat automation (business connections): a user connects the bot to their own account and
    # it answers their customers on their behalf. auto: answered at once; approve: the owner
    # gets the suggested answer with Send/Discard; off: those updates are not even asked for.
    business_replies: Literal["auto", "approve", "off"] = "auto"
    # After the owner writes in a chat, the bot stays silent there for this many minutes.
    business_takeover_minutes: int = Field(default=30, ge=0, le=7 * 24 * 60)

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


class KnowledgeSettings(BaseSettings):
    """The knowledge base: its folders, search and answer modes."""

    # --- Knowledge base --------------------------------------------------------------
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

    # --- Knowledge base: removal guard -----------------------------------------------
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
        """KB_MODE=assist or strict needs KB_PATH (the folders the knowledge base reads)."""
        if self.kb_effective_mode != "off" and not self.kb_path:
            raise ConfigError(f"KB_MODE={self.kb_effective_mode} needs KB_PATH: the folders "
                              "of documents to answer from")
        for folder in self.kb_path:
            if not folder.expanduser().is_dir():
                raise ConfigError(f"KB_PATH: no such folder {folder}")

    # --- "Not found" next step -----------------------------------------------------
    # Shown under a "not found" answer of the knowledge base when there is no support desk
    # (SUPPORT_CHAT_ID unset): where to turn next, e.g. "Write to help@example.com". Empty: none.
    kb_not_found_contact: str = Field(default="", max_length=1000)


class DeskSettings(BaseSettings):
    """The support desk and its learning loop."""

    # --- Support desk ---------------------------------------------------------------
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

    # --- Desk insights ----------------------------------------------------------------
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


class ToolsSettings(BaseSettings):
    """Tools: the loop, and where the tools come from."""

    # --- Tools: the loop -----------------------------------------------------------
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

    # --- Tools: sources ------------------------------------------------------------
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


class MediaSettings(BaseSettings):
    """Photos, voice notes and documents sent in chat."""

    # --- Photos and voice notes ------------------------------------------------------
    # The model that answers photos and screenshots (OpenAI-compatible API, images as data:
    # URLs); empty = photos are answered "text only", as before.
    vision_model: str = "gemma-3-27b-it/latest"
    # Largest image taken, in MB (Telegram lets bots download at most 20 MB).
    max_image_mb: float = Field(default=10.0, gt=0, le=20)
    # Voice notes and OGG/Opus audio (up to 30 s, 1 MB) through SpeechKit STT with the models'
    # credentials; unset = on when credentials are set.
    speech_recognition: Literal["on", "off"] | None = None

    stt_url: str = "https://stt.api.cloud.yandex.net"
    # Seconds a file download from Telegram may take in all.
    media_download_timeout: float = Field(default=30.0, gt=0)

    # --- Documents sent in chat ------------------------------------------------------
    # Largest PDF, DOCX or text file read in chat, in MB (Telegram lets bots download at most
    # 20 MB). Its text is kept for the conversation; /reset and /forget drop it.
    max_document_mb: float = Field(default=20.0, gt=0, le=20)


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
