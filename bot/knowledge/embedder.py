"""Embeddings within the folder's quota: request starts spaced at EMBEDDING_RPS.

Yandex answers one text per `textEmbedding` request and allows 10 requests a second by default
(../shared/reference/support-deployments.md §2), so batching is concurrency: several requests
in flight, their starts never closer than 1/rps apart, so the quota is never passed and a 429
never comes from us. The client's transport retries 429/5xx with backoff if one comes anyway
(another process on the same folder). Questions and documents share the pacer; the indexer
keeps few requests queued, so a user's question waits behind at most a handful.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from bot.foundation_models.types import EmbeddingModel

# A little slack over 1/rps: the server's one-second windows and ours never line up exactly.
SPACING_SLACK = 1.02


@dataclass(frozen=True, slots=True)
class Vector:
    values: np.ndarray  # float32, L2-normalised
    model_version: str


class Pacer:
    """Spaces events at least `interval` seconds apart, in arrival order."""

    def __init__(self, rate: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.interval = SPACING_SLACK / rate if rate > 0 else 0.0
        self._clock = clock
        self._next = 0.0
        self._lock = asyncio.Lock()

    async def wait(self) -> None:
        if not self.interval:
            return
        async with self._lock:
            now = self._clock()
            delay = self._next - now
            if delay > 0:
                await asyncio.sleep(delay)
                now = self._clock()
            self._next = max(now, self._next) + self.interval


class Embedder:
    """Document and query embeddings through one pacer; vectors come back normalised."""

    def __init__(
        self, model: EmbeddingModel, *, doc_model: str, query_model: str, rps: float
    ) -> None:
        self._model = model
        self.doc_model = doc_model
        self.query_model = query_model
        self.pacer = Pacer(rps)

    async def document(self, text: str) -> Vector:
        return await self._embed(text, self.doc_model)

    async def query(self, text: str) -> Vector:
        return await self._embed(text, self.query_model)

    async def _embed(self, text: str, model: str) -> Vector:
        await self.pacer.wait()
        answer = await self._model.embedding(text, model=model)
        return Vector(normalised(np.asarray(answer.vector, dtype=np.float32)),
                      answer.model_version)


def normalised(vector: np.ndarray) -> np.ndarray:
    norm = float(np.linalg.norm(vector))
    return vector / norm if norm > 0 else vector
