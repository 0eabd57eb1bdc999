"""pgvector: exact nearest passages in PostgreSQL, when migration 0005 found the extension.

kb_embeddings.embedding then holds a `vector` copy of each stored embedding (the float32
bytes stay the cache), and the search ranks every passage in the database by cosine
distance, with no approximate index, as the numpy path does in memory: the bot holds no
matrix. Scores are 1 - cosine distance, the cosine similarity numpy computes over normalised
vectors, so KB_MIN_SCORE means the same on both paths (tests/knowledge/test_pgvector.py).
"""

from __future__ import annotations

import array
from collections.abc import Sequence

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from bot.storage.repositories._upsert import dialect_name

BATCH = 500
# Every passage whose text was embedded with the model, and its distance to the query. The
# dimension test keeps out vectors of another size (`<=>` would raise on them), as the numpy
# path leaves them out of its matrix.
_SCORED = (
    "SELECT p.id, 1 - (e.embedding <=> q) AS score FROM kb_passages p "
    "JOIN kb_embeddings e ON e.content_hash = p.content_hash AND e.model = :model, "
    "CAST(:query AS vector) AS q WHERE vector_dims(e.embedding) = vector_dims(q)"
)


def as_pgvector(vector: bytes) -> str:
    """float32 bytes as pgvector's text form: repr of each float's exact double value, which
    pgvector's strtof reads back to the same float32."""
    return "[" + ",".join(map(repr, array.array("f", vector))) + "]"


class PgVectorRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def enabled(self) -> bool:
        """PostgreSQL with the `embedding` column (so with the extension)."""
        if dialect_name(self.session) != "postgresql":
            return False
        found = await self.session.scalar(text(
            "SELECT EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = "
            "to_regclass('kb_embeddings') AND attname = 'embedding' AND NOT attisdropped)"
        ))
        return bool(found)

    async def fill(self, model: str, hashes: Sequence[str]) -> int:
        """Give these cached embeddings their `vector` copy where they have none yet."""
        filled = 0
        for start in range(0, len(hashes), BATCH):
            rows = (await self.session.execute(
                text("SELECT content_hash, vector FROM kb_embeddings WHERE model = :model "
                     "AND embedding IS NULL AND content_hash = ANY(:hashes)"),
                {"model": model, "hashes": list(hashes[start : start + BATCH])},
            )).all()
            if rows:
                await self.session.execute(
                    text("UPDATE kb_embeddings SET embedding = CAST(:embedding AS vector) "
                         "WHERE content_hash = :content_hash AND model = :model"),
                    [{"content_hash": digest, "model": model, "embedding": as_pgvector(vector)}
                     for digest, vector in rows],
                )
                filled += len(rows)
        return filled

    async def nearest(self, model: str, query: bytes, limit: int) -> list[tuple[int, float]]:
        """(passage id, cosine similarity) of the `limit` nearest passages, best first."""
        rows = await self.session.execute(
            text(_SCORED + " ORDER BY e.embedding <=> q, p.id LIMIT :limit"),
            {"model": model, "query": as_pgvector(query), "limit": limit},
        )
        return [(int(passage_id), float(score)) for passage_id, score in rows]

    async def similarities(
        self, model: str, query: bytes, passage_ids: Sequence[int]
    ) -> dict[int, float]:
        """The cosine similarity of the query to each of these passages."""
        if not passage_ids:
            return {}
        rows = await self.session.execute(
            text(_SCORED + " AND p.id = ANY(:ids)"),
            {"model": model, "query": as_pgvector(query), "ids": list(passage_ids)},
        )
        return {int(passage_id): float(score) for passage_id, score in rows}
