"""The tools' section of the settings (TOOLS_*): the loop, and where the tools come from. A
leaf: pydantic and the settings' parsing helpers only (bot/features/settings.py composes it as
`settings.tools`)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr, ValidationInfo, field_validator

from bot.plugin.config import Section, blank_to, split_names


class ToolsSettings(Section):
    """Tools: the loop, and where the tools come from: TOOLS_FILE (None: none), how calls are
    signed, the loop's bounds and the per-user limits."""

    # --- Tools: the loop -----------------------------------------------------------
    # Rounds of tool calls in one turn; after that the model is asked once more without tools
    # and told to answer now.
    max_rounds: int = Field(default=6, ge=1, le=50, validation_alias="TOOLS_MAX_ROUNDS")
    # Seconds a confirmation waits for the user's press before the call expires.
    confirm_ttl: float = Field(default=600.0, gt=0, validation_alias="TOOLS_CONFIRM_TTL")
    # Seconds a request that someone else approves (a tool's `approvers`) waits before its
    # approvers are reminded (4 hours), and before it expires (3 days); then the model is told.
    approval_remind: float = Field(default=4 * 3600.0, gt=0, validation_alias="APPROVAL_REMIND")
    approval_expire: float = Field(default=3 * 86400.0, gt=0,
                                   validation_alias="APPROVAL_EXPIRE")
    # Characters of one tool result given to the model (the rest is cut, and it is told so).
    result_chars: int = Field(default=4000, ge=200, le=100_000,
                              validation_alias="TOOLS_RESULT_CHARS")
    # Calls of one round that run at once.
    parallel: int = Field(default=4, ge=1, le=32, validation_alias="TOOLS_PARALLEL")
    # Models offered tools (base names, as in TEXT_MODEL without folder or version); the
    # others answer without them. Default: those Yandex records as calling functions.
    models: frozenset[str] = Field(
        default=frozenset({"yandexgpt", "llama", "qwen3-235b-a22b-fp8", "gemma-3-27b-it"}),
        validation_alias="TOOLS_MODELS",
    )
    _split_tools_models = field_validator("models", mode="before")(split_names)

    # --- Tools: sources ------------------------------------------------------------
    # A TOML file of the tools the model may call: [[http]] actions and [mcp.<name>] servers
    # (docs/tools.md); empty = none.
    file: Path | None = Field(default=None, validation_alias="TOOLS_FILE")
    # Signs every HTTP action's request (RFC 9421, hmac-sha256) so the API can trust who is
    # asking, the path, the query and the body; empty = unsigned.
    signing_secret: SecretStr | None = Field(default=None, validation_alias="TOOLS_SIGNING_SECRET")
    # Or: an Ed25519 private key (PEM) to sign with (RFC 9421, ed25519): the API holds only the
    # public key. Not both.
    signing_key: Path | None = Field(default=None, validation_alias="TOOLS_SIGNING_KEY")
    # Per-user limits on tool calls (rolling windows, across replicas; admins exempt; 0 = none):
    # past them the call is not made, the model is told and the user sees one line.
    calls_per_user_hour: int = Field(default=60, ge=0,
                                     validation_alias="TOOLS_CALLS_PER_USER_HOUR")
    writes_per_user_day: int = Field(default=20, ge=0,
                                     validation_alias="TOOLS_WRITES_PER_USER_DAY")
    # The `keyid` of the signatures (the API looks the key up by it).
    signing_key_id: str = Field(default="fmbot", min_length=1, max_length=100,
                                validation_alias="TOOLS_SIGNING_KEY_ID")

    @field_validator("signing_key", mode="after")
    @classmethod
    def _one_signing_key(cls, value: Path | None, info: ValidationInfo) -> Path | None:
        if value is not None and info.data.get("signing_secret") is not None:
            raise ValueError(
                "set together with TOOLS_SIGNING_SECRET: keep one (the key signs with ed25519 "
                "and the API holds only its public key; the secret signs with hmac-sha256)"
            )
        return value

    @field_validator("file", "signing_secret", "signing_key", mode="before")
    @classmethod
    def _blank_tools_is_unset(cls, value: object) -> object:
        return blank_to(value, None)
