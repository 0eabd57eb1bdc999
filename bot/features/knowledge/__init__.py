"""The knowledge base: documents -> passages -> embeddings; lexical and vector search, fused;
evaluation (the base itself knows nothing of Telegram); its part in a turn (turn.py), /kb
(telegram.py) and `fmbot kb` (cli.py, cli_store.py, progress.py).

This module names only the light value types: the parts that need numpy (base, embedder,
indexer, search, vectors) are imported from their modules, so a bot without a knowledge base
never loads numpy (about 15 MB and 0.1 s of start-up).
"""

from __future__ import annotations

from bot.features.knowledge.types import Hit, KbMode, Retrieval, Source

# No process-wide tuning here: a program embedding the bot (`async with app`) keeps its own
# numpy threads. The fmbot process sets OpenBLAS to one thread (bot/cli/dispatch.py).
from bot.plugin.grounding import NOT_FOUND_MARKER

__all__ = ["NOT_FOUND_MARKER", "Hit", "KbMode", "Retrieval", "Source"]
