"""The knowledge base's section of the settings (KB_*, EMBEDDING_*): its folders, search and
answer modes, and where it is kept (fmbot's database, or a Yandex Vector Store). A leaf:
pydantic and the settings' parsing helpers only (bot/features/settings.py composes it as
`settings.knowledge`)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal, Self

from pydantic import Field, field_validator, model_validator

from bot.plugin.config import ConfigError, Section, blank_is_default, unresolved

KbModeName = Literal["off", "assist", "strict"]


class KnowledgeSettings(Section):
    """The knowledge base: its folders, search and answer modes. `mode` is KB_MODE or its
    default: assist with KB_PATH, off without."""

    # --- Knowledge base --------------------------------------------------------------
    # Folders of documents, comma-separated; empty = no knowledge base.
    paths: tuple[Path, ...] = Field(default=(), validation_alias="KB_PATH")
    # off | assist | strict; unset = assist when KB_PATH is set, off otherwise.
    mode: KbModeName = Field(default_factory=unresolved, validation_alias="KB_MODE")
    top_k: int = Field(default=5, ge=1, le=50, validation_alias="KB_TOP_K")
    # Cosine similarity of the best passage below which a question counts as not covered.
    min_score: float = Field(default=0.35, ge=-1.0, le=1.0, validation_alias="KB_MIN_SCORE")
    # Seconds between background syncs in `run` (0 = only at start).
    sync_interval: float = Field(default=600.0, ge=0, validation_alias="KB_SYNC_INTERVAL")

    # --- Knowledge base: removal guard -----------------------------------------------
    # A sync that would remove this share of the indexed documents or more (an empty or
    # unmounted folder) keeps them and says so, until `kb sync --allow-removal`; 1 = only one
    # that would remove every document, 0.5 = half of them or more.
    removal_limit: float = Field(default=1.0, gt=0, le=1, validation_alias="KB_REMOVAL_LIMIT")

    # --- Who reads what (issue 81) ------------------------------------------------------
    # Group chats whose members alone make up an access group, as `chat id=group` pairs, e.g.
    # "-1001234567890=hr, -1009876543210=finance": answers there may use that group's
    # documents. Any other group chat reads only the open documents (everyone in it reads
    # the answer); a private chat reads what the signed-in employee's groups may.
    group_chats: dict[int, str] = Field(default_factory=dict,
                                        validation_alias="KB_GROUP_CHATS")

    # --- "Not found" next step -----------------------------------------------------
    # Shown under a "not found" answer of the knowledge base when there is no support desk
    # (SUPPORT_CHAT_ID unset): where to turn next, e.g. "Write to help@example.com". Empty: none.
    not_found_contact: str = Field(default="", max_length=1000,
                                   validation_alias="KB_NOT_FOUND_CONTACT")

    # --- Knowledge base kept by Yandex (KB_BACKEND=yandex) ----------------------------
    # local: passages and embeddings in fmbot's database; yandex: the files in a Vector Store,
    # searched by the model's `file_search` tool.
    backend: Literal["local", "yandex"] = Field(default="local", validation_alias="KB_BACKEND")
    # The store `kb sync` uploads to; empty: the one an earlier sync created, or a new one.
    store_id: str = Field(default="", validation_alias="KB_VECTOR_STORE_ID")
    # Days after its last use before Yandex lets a store expire (required when creating one).
    store_days: int = Field(default=365, ge=1, le=3650, validation_alias="KB_VECTOR_STORE_DAYS")

    @field_validator("paths", mode="before")
    @classmethod
    def _split_paths(cls, value: object) -> object:
        if isinstance(value, str):
            return [Path(part.strip()) for part in value.split(",") if part.strip()]
        return value

    @field_validator("group_chats", mode="before")
    @classmethod
    def _split_group_chats(cls, value: object) -> object:
        if not isinstance(value, str):
            return value
        pairs: dict[int, str] = {}
        for part in (p.strip() for p in value.split(",")):
            if not part:
                continue
            chat, _, group = part.partition("=")
            try:
                chat_id = int(chat.strip())
            except ValueError:
                chat_id = 0
            if not chat_id or not group.strip() or chat_id > 0:
                raise ValueError(f"KB_GROUP_CHATS: {part[:100]!r} is not `group chat id=access "
                                 "group` (a group chat's id is negative, e.g. -1001234567890=hr)")
            pairs[chat_id] = group.strip()[:200]
        return pairs

    @field_validator("mode", mode="before")
    @classmethod
    def _blank_mode(cls, value: object) -> object:
        # `KB_MODE=` means "not set": assist with KB_PATH, off without.
        return blank_is_default(value.strip().lower() if isinstance(value, str) else value)

    @field_validator("backend", mode="before")
    @classmethod
    def _lower_backend(cls, value: object) -> object:
        return value.strip().lower() if isinstance(value, str) else value

    @model_validator(mode="after")
    def _mode_by_paths(self) -> Self:
        # KB_MODE unset: assist with KB_PATH, off without.
        if self.mode is None:
            self._settle(mode="assist" if self.paths else "off")
        return self

    @property
    def on(self) -> bool:
        return self.mode != "off"

    def check(self) -> None:
        """KB_MODE=assist or strict needs KB_PATH (the folders the knowledge base reads)."""
        if self.mode != "off" and not self.paths:
            raise ConfigError(f"KB_MODE={self.mode} needs KB_PATH: the folders "
                              "of documents to answer from")
        for folder in self.paths:
            if not folder.expanduser().is_dir():
                raise ConfigError(f"KB_PATH: no such folder {folder}")

    def check_path(self) -> None:
        """`kb` commands need KB_PATH, whatever KB_MODE says."""
        if not self.paths:
            raise ConfigError("KB_PATH is not set: the folders of documents to index")

    def backend_problems(self, text_api: str) -> list[str]:
        """KB_BACKEND=yandex is a tool of the Responses API."""
        if self.backend == "yandex" and text_api != "responses":
            return [f"KB_BACKEND=yandex needs TEXT_API=responses (it is {text_api}): file "
                    "search is a tool of Yandex's Responses API"]
        return []
