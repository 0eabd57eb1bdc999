"""The tools' section of the settings (TOOLS_*): the loop, and where the tools come from. A
leaf: pydantic and the settings' parsing helpers only (bot/features/settings.py composes it)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

from pydantic import Field, SecretStr, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, NoDecode

from bot.config.parsing import _blank_to, _split_names


@dataclass(frozen=True, slots=True)
class ToolsArea:
    """The tools' settings as one value: TOOLS_FILE (None: none), how calls are signed, the
    loop's bounds and the per-user limits."""

    file: Path | None
    signing_secret: SecretStr | None
    signing_key: Path | None
    signing_key_id: str
    max_rounds: int
    confirm_ttl: float
    result_chars: int
    parallel: int
    models: frozenset[str]
    calls_per_user_hour: int
    writes_per_user_day: int


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
        return _blank_to(value, None)

    @property
    def tools(self) -> ToolsArea:
        """The tools' settings as one value."""
        return ToolsArea(
            file=self.tools_file, signing_secret=self.tools_signing_secret,
            signing_key=self.tools_signing_key, signing_key_id=self.tools_signing_key_id,
            max_rounds=self.tools_max_rounds, confirm_ttl=self.tools_confirm_ttl,
            result_chars=self.tools_result_chars, parallel=self.tools_parallel,
            models=frozenset(self.tools_models),
            calls_per_user_hour=self.tools_calls_per_user_hour,
            writes_per_user_day=self.tools_writes_per_user_day,
        )
