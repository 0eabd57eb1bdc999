"""Exact vector search in memory: one float32 matrix of normalised embeddings (numpy).

10,000 passages of 256 dimensions are 10 MB and a search is one matrix-vector product and an
argpartition (well under a millisecond), so no approximate index is needed at this size. The
index holds nothing per passage but its row and its id (an int64 array, sorted): no Python
object per passage, and a passage's row is found by binary search.
"""

from __future__ import annotations

import ctypes
import ctypes.util
from collections.abc import AsyncIterator, Sequence

import numpy as np


class VectorIndex:
    def __init__(self, ids: Sequence[int] | np.ndarray = (),
                 matrix: np.ndarray | None = None) -> None:
        ids = np.asarray(ids, dtype=np.int64)
        matrix = matrix if matrix is not None else np.zeros((0, 0), dtype=np.float32)
        if len(ids) > 1 and bool(np.any(ids[1:] < ids[:-1])):  # similarity() bisects
            order = np.argsort(ids, kind="stable")
            ids, matrix = ids[order], matrix[order]
        self.ids = ids
        self.matrix = matrix

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
        return cls([passage_id for passage_id, _ in kept], _normalised(matrix))

    @classmethod
    async def from_stream(
        cls, rows: AsyncIterator[tuple[int, bytes]], expected: int
    ) -> VectorIndex:
        """The same from streamed rows, written into one preallocated matrix: the peak memory
        is the index itself, not the index plus every row's bytes."""
        ids = np.empty(max(expected, 1), dtype=np.int64)
        matrix: np.ndarray | None = None
        size = count = 0
        async for passage_id, vector in rows:
            if matrix is None:
                size = len(vector)
                matrix = np.empty((len(ids), size // 4), dtype=np.float32)
            if len(vector) != size:
                continue
            if count == len(matrix):  # more rows than counted (a sync meanwhile)
                matrix = np.concatenate([matrix, np.empty_like(matrix)])
                ids = np.concatenate([ids, np.empty_like(ids)])
            matrix[count] = np.frombuffer(vector, dtype=np.float32)
            ids[count] = passage_id
            count += 1
        if matrix is None or not count:
            return cls()
        # Copies only when fewer rows came than counted (passages deleted meanwhile).
        return cls(ids[:count].copy(), _normalised(matrix[:count].copy()
                                                   if count < len(matrix) else matrix))

    def __len__(self) -> int:
        return len(self.ids)

    @property
    def nbytes(self) -> int:
        return int(self.matrix.nbytes + self.ids.nbytes)

    def search(self, query: np.ndarray, k: int,
               excluded: Sequence[int] = ()) -> list[tuple[int, float]]:
        """The k nearest passages by cosine similarity, best first; the `excluded` ones (the
        asker may not read them) never compete for a place."""
        if not len(self.ids) or query.shape[0] != self.matrix.shape[1]:
            return []
        scores = self.matrix @ query
        allowed = np.ones(len(scores), dtype=bool)
        if len(excluded):
            allowed = ~np.isin(self.ids, np.asarray(excluded, dtype=np.int64))
            scores = np.where(allowed, scores, -np.inf)
        k = min(k, int(allowed.sum()))
        if k <= 0:
            return []
        top = np.argpartition(-scores, k - 1)[:k]
        top = top[np.argsort(-scores[top])]
        return [(int(self.ids[i]), float(scores[i])) for i in top]

    def similarities(self, query: np.ndarray, passage_ids: Sequence[int]) -> dict[int, float]:
        """Cosine similarity of the query to each of these passages that the index holds."""
        if not len(self.ids) or not passage_ids or query.shape[0] != self.matrix.shape[1]:
            return {}
        wanted = np.asarray(passage_ids, dtype=np.int64)
        rows = np.minimum(np.searchsorted(self.ids, wanted), len(self.ids) - 1)
        found = self.ids[rows] == wanted
        scores = self.matrix[rows[found]] @ query
        return {int(i): float(s) for i, s in zip(wanted[found], scores, strict=True)}


def _normalised(matrix: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    matrix /= np.where(norms > 0, norms, 1.0)
    return matrix


def release_freed_memory() -> None:
    """Give the heap's free pages back to the system (glibc only; elsewhere nothing).

    Loading streams ~10 MB of row buffers through the driver (SQLAlchemy rows, asyncpg's
    records, SQLite's blobs); they are freed, but glibc keeps the freed pages in its arenas,
    so the process stayed 2-12 MB larger than what it holds (bench_kb at 10,000 passages:
    PostgreSQL +23.2 MB after loading, +10.8 MB after malloc_trim(0); SQLite +15.1 / +13.2).
    """
    if _malloc_trim is not None:
        _malloc_trim(0)


def _find_malloc_trim() -> ctypes._CFuncPtr | None:  # type: ignore[name-defined]
    name = ctypes.util.find_library("c")
    try:
        return getattr(ctypes.CDLL(name), "malloc_trim", None) if name else None
    except OSError:
        return None


_malloc_trim = _find_malloc_trim()
