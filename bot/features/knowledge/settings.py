"""The knowledge base's section of the settings (KB_*, EMBEDDING_*): its folders, search and
answer modes, and where it is kept (fmbot's database, or a Yandex Vector Store). A leaf:
pydantic and the settings' parsing helpers only (bot/features/settings.py composes it)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode

from bot.config.parsing import ConfigError


@dataclass(frozen=True, slots=True)
class KnowledgeArea:
    """The knowledge base's settings, resolved: `mode` is KB_MODE or its default (assist with
    KB_PATH, off without)."""

    paths: tuple[Path, ...]
    mode: str
    top_k: int
    min_score: float
    sync_interval: float
    doc_model: str
    query_model: str
    embedding_rps: float
    removal_limit: float
    not_found_contact: str
    backend: str
    store_id: str
    store_days: int

    @property
    def on(self) -> bool:
        return self.mode != "off"


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

    # --- "Not found" next step -----------------------------------------------------
    # Shown under a "not found" answer of the knowledge base when there is no support desk
    # (SUPPORT_CHAT_ID unset): where to turn next, e.g. "Write to help@example.com". Empty: none.
    kb_not_found_contact: str = Field(default="", max_length=1000)

    # --- Knowledge base kept by Yandex (KB_BACKEND=yandex) ----------------------------
    # local: passages and embeddings in fmbot's database; yandex: the files in a Vector Store,
    # searched by the model's `file_search` tool.
    kb_backend: Literal["local", "yandex"] = "local"
    # The store `kb sync` uploads to; empty: the one an earlier sync created, or a new one.
    kb_vector_store_id: str = ""
    # Days after its last use before Yandex lets a store expire (required when creating one).
    kb_vector_store_days: int = Field(default=365, ge=1, le=3650)

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

    @field_validator("kb_backend", mode="before")
    @classmethod
    def _lower_backend(cls, value: object) -> object:
        return value.strip().lower() if isinstance(value, str) else value

    @property
    def kb_effective_mode(self) -> str:
        """KB_MODE, or its default: assist with KB_PATH, off without."""
        if self.kb_mode is not None:
            return self.kb_mode
        return "assist" if self.kb_path else "off"

    @property
    def knowledge(self) -> KnowledgeArea:
        """The knowledge base's settings as one value."""
        return KnowledgeArea(
            paths=tuple(self.kb_path), mode=self.kb_effective_mode, top_k=self.kb_top_k,
            min_score=self.kb_min_score, sync_interval=self.kb_sync_interval,
            doc_model=self.embedding_doc_model, query_model=self.embedding_query_model,
            embedding_rps=self.embedding_rps, removal_limit=self.kb_removal_limit,
            not_found_contact=self.kb_not_found_contact, backend=self.kb_backend,
            store_id=self.kb_vector_store_id, store_days=self.kb_vector_store_days,
        )

    def check_kb(self) -> None:
        """KB_MODE=assist or strict needs KB_PATH (the folders the knowledge base reads)."""
        if self.kb_effective_mode != "off" and not self.kb_path:
            raise ConfigError(f"KB_MODE={self.kb_effective_mode} needs KB_PATH: the folders "
                              "of documents to answer from")
        for folder in self.kb_path:
            if not folder.expanduser().is_dir():
                raise ConfigError(f"KB_PATH: no such folder {folder}")

    def check_kb_path(self) -> None:
        """`kb` commands need KB_PATH, whatever KB_MODE says."""
        if not self.kb_path:
            raise ConfigError("KB_PATH is not set: the folders of documents to index")

    def kb_backend_problems(self, text_api: str) -> list[str]:
        """KB_BACKEND=yandex is a tool of the Responses API."""
        if self.kb_backend == "yandex" and text_api != "responses":
            return [f"KB_BACKEND=yandex needs TEXT_API=responses (it is {text_api}): file "
                    "search is a tool of Yandex's Responses API"]
        return []
