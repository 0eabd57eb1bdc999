"""The knowledge base: documents -> passages -> embeddings; lexical and vector search, fused;
grounded prompts and citations; evaluation. Knows nothing of Telegram."""

from __future__ import annotations

from bot.knowledge.base import KbStatus, KnowledgeBase
from bot.knowledge.embedder import Embedder
from bot.knowledge.grounding import NOT_FOUND_MARKER
from bot.knowledge.indexer import Progress, SyncReport
from bot.knowledge.types import Hit, KbMode, Retrieval, Source

__all__ = [
    "NOT_FOUND_MARKER",
    "Embedder",
    "Hit",
    "KbMode",
    "KbStatus",
    "KnowledgeBase",
    "Progress",
    "Retrieval",
    "Source",
    "SyncReport",
]
