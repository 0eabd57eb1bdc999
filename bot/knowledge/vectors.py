"""Exact vector search in memory: one float32 matrix of normalised embeddings (numpy).

10,000 passages of 256 dimensions are 10 MB and a search is one matrix-vector product and an
argpartition (well under a millisecond), so no approximate index is needed at this size.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence

import numpy as np


class VectorIndex:
    def __init__(self, ids: Sequence[int] = (), matrix: np.ndarray | None = None) -> None:
        self.ids = np.asarray(ids, dtype=np.int64)
        self.matrix = matrix if matrix is not None else np.zeros((0, 0), dtype=np.float32)
        self._row = {int(passage_id): row for row, passage_id in enumerate(self.ids)}

    @classmethod
    def from_rows(cls, rows: Sequence[tuple[int, bytes]]) -> VectorIndex:
        """Rows of (passage id, float32 bytes); vectors of another size than the first are
        left out (a model change half-way through a sync)."""
        if not rows:
            return cls()
        size = len(rows[0][1])
        kept = [(passage_id, vector) for passage_id, vector in rows if len(vector) == size]
        matrix = np.frombuffer(b"".join(v for _, v in kept), dtype=np.float32)
        matrix = matrix.reshape(len(kept), size // 4).copy()
        norms = np.linalg.norm(matrix, axis=1, keepdims=True)
        matrix /= np.where(norms > 0, norms, 1.0)
        return cls([passage_id for passage_id, _ in kept], matrix)

    @classmethod
    async def from_stream(
        cls, rows: AsyncIterator[tuple[int, bytes]], expected: int
    ) -> VectorIndex:
        """The same from streamed rows, written into one preallocated matrix: the peak memory
        is the index itself, not the index plus every row's bytes."""
        ids: list[int] = []
        matrix: np.ndarray | None = None
        size = 0
        async for passage_id, vector in rows:
            if matrix is None:
                size = len(vector)
                matrix = np.empty((max(expected, 1), size // 4), dtype=np.float32)
            if len(vector) != size:
                continue
            if len(ids) == len(matrix):  # more rows than counted (a sync meanwhile)
                matrix = np.concatenate([matrix, np.empty_like(matrix)])
            matrix[len(ids)] = np.frombuffer(vector, dtype=np.float32)
            ids.append(passage_id)
        if matrix is None or not ids:
            return cls()
        if len(ids) < len(matrix):
            matrix = matrix[: len(ids)]
        norms = np.linalg.norm(matrix, axis=1, keepdims=True)
        matrix /= np.where(norms > 0, norms, 1.0)
        return cls(ids, matrix)

    def __len__(self) -> int:
        return len(self.ids)

    @property
    def nbytes(self) -> int:
        return int(self.matrix.nbytes + self.ids.nbytes)

    def search(self, query: np.ndarray, k: int) -> list[tuple[int, float]]:
        """The k nearest passages by cosine similarity, best first."""
        if not len(self.ids) or query.shape[0] != self.matrix.shape[1]:
            return []
        scores = self.matrix @ query
        k = min(k, len(scores))
        top = np.argpartition(-scores, k - 1)[:k]
        top = top[np.argsort(-scores[top])]
        return [(int(self.ids[i]), float(scores[i])) for i in top]

    def similarity(self, query: np.ndarray, passage_id: int) -> float | None:
        row = self._row.get(passage_id)
        if row is None or query.shape[0] != self.matrix.shape[1]:
            return None
        return float(self.matrix[row] @ query)
