"""Embeddings within the folder's quota: request starts spaced at EMBEDDING_RPS.

Yandex answers one text per `textEmbedding` request and allows 10 requests a second by
default (https://yandex.cloud/en/docs/ai-studio/concepts/limits), so batching is concurrency:
several requests in flight, their starts never closer than 1/rps apart, so the quota is never
passed and a 429 never comes from us. The client's transport retries 429/5xx with backoff if
one comes anyway (another process on the same folder) is retried here, through the pacer,
after the server's Retry-After or a backoff that also holds back every other request: retries
inside the client would come on top of the paced requests and push past the quota again.
Questions and documents share the pacer; the indexer keeps few requests queued, so a question
waits behind a handful.
"""

from __future__ import annotations

import logging
import random
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np

from bot.foundation_models.errors import APIConnectionError, APIStatusError, RateLimitError
from bot.foundation_models.pacing import Pacer
from bot.foundation_models.transport import NO_RETRY
from bot.foundation_models.types import EmbeddingModel

log = logging.getLogger(__name__)
# Slack over 1/rps: requests leave a busy event loop a little late or early, and two sent
# closer than planned must still not make N+1 in any second the server counts.
SPACING_SLACK = 1.05
ATTEMPTS = 5
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})


@dataclass(frozen=True, slots=True)
class Vector:
    values: np.ndarray  # float32, L2-normalised
    model_version: str


class Embedder:
    """Document and query embeddings through one pacer; vectors come back normalised."""

    def __init__(
        self,
        model: EmbeddingModel,
        *,
        doc_model: str,
        query_model: str,
        rps: float,
        backoff: float = 0.5,
    ) -> None:
        """`backoff`: seconds before the first retry of a failed request (doubling after)."""
        self._model = model
        self.doc_model = doc_model
        self.query_model = query_model
        self.pacer = Pacer(rps, slack=SPACING_SLACK)
        self.backoff = backoff

    async def document(self, text: str) -> Vector:
        return await self._embed(text, self.doc_model)

    async def query(self, text: str) -> Vector:
        """A search query's embedding: of `query_text(text)`, within the model's input."""
        return await self._embed(query_text(text), self.query_model)

    async def _embed(self, text: str, model: str) -> Vector:
        for attempt in range(1, ATTEMPTS + 1):
            await self.pacer.wait()
            try:
                answer = await self._model.embedding(text, model=model, retry=NO_RETRY)
            except (APIStatusError, APIConnectionError) as exc:
                status = getattr(exc, "status_code", None)
                if attempt == ATTEMPTS or (status is not None and status not in RETRY_STATUSES):
                    raise
                delay = exc.retry_after if isinstance(exc, RateLimitError) else None
                backoff = min(10.0, self.backoff * 2 ** (attempt - 1))
                delay = delay or backoff * (1 + random.random() / 2)
                log.warning("embedding request failed (%s); retry %d in %.1f s",
                            exc, attempt, delay)
                self.pacer.hold(delay)
                continue
            import numpy as np  # on the first embedding: a bot that embeds nothing never loads it

            return Vector(normalised(np.asarray(answer.vector, dtype=np.float32)),
                          answer.model_version)
        raise AssertionError("unreachable")


def normalised(vector: np.ndarray) -> np.ndarray:
    import numpy as np

    norm = float(np.linalg.norm(vector))
    return vector / norm if norm > 0 else vector


# --- what of a query is embedded --------------------------------------------------------------
# Yandex's embedding models take at most 2,000 input tokens and refuse more with a 400
# ("number of input tokens must be no more than 2000, got 2095": a 3,400-character paste in
# Russian; https://yandex.cloud/en/docs/ai-studio/concepts/embeddings and the limits at
# https://yandex.cloud/en/docs/ai-studio/concepts/limits). A query is bounded in UTF-8
# bytes, which needs no tokenizer and holds for any text: a token of a SentencePiece model
# covers one byte at least (a character it does not know is split into byte pieces), so a text
# of N bytes is at most N tokens and the model's few special ones. A longer query (a long
# paste, several messages joined) keeps its start and its end, where people put what they ask.
# Below the limit with room for the special tokens: 1,800 bytes are 1,800 ASCII characters,
# or 900 Cyrillic ones, and a search needs far fewer.
QUERY_BYTES = 1800
HEAD_SHARE = 0.6  # of the bound, for the query's start (the end gets the rest)
GAP = "\n…\n"
WORD_REACH = 40  # bytes a cut may step back to end on a word boundary


def query_text(text: str, limit: int = QUERY_BYTES) -> str:
    """`text` when it is within `limit` UTF-8 bytes; else its start and its end, cut on word
    boundaries, within `limit` bytes together."""
    data = text.encode()
    if len(data) <= limit:
        return text
    room = limit - len(GAP.encode())
    head_bytes = int(room * HEAD_SHARE)
    head = data[:head_bytes].decode(errors="ignore")
    tail = data[len(data) - (room - head_bytes):].decode(errors="ignore")
    space = head.rfind(" ", len(head) - WORD_REACH)
    head = head[:space] if space > 0 else head
    space = tail.find(" ", 0, WORD_REACH)
    tail = tail[space + 1:] if space >= 0 else tail
    return f"{head.rstrip()}{GAP}{tail.lstrip()}"
