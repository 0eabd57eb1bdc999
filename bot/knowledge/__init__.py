"""The knowledge base: documents -> passages -> embeddings; lexical and vector search, fused;
grounded prompts and citations; evaluation. Knows nothing of Telegram.

This module names only the light value types: the parts that need numpy (base, embedder,
indexer, search, vectors) are imported from their modules, so a bot without a knowledge base
never loads numpy (about 15 MB and 0.1 s of start-up).
"""

from __future__ import annotations

import os

# Before numpy loads (any submodule imports this package first): a product of 10,000 x 256
# floats by one vector takes well under a millisecond on one core, while OpenBLAS's threads
# only fight the event loop for the CPU (bench_kb.py on this busy 2-core VM: vector search p50
# 10 ms threaded; docs/knowledge-base.md).
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

from bot.grounding.prompt import NOT_FOUND_MARKER
from bot.knowledge.types import Hit, KbMode, Retrieval, Source

__all__ = ["NOT_FOUND_MARKER", "Hit", "KbMode", "Retrieval", "Source"]
