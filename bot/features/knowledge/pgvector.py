"""pgvector: exact nearest passages in PostgreSQL, when migration 0005 found the extension.

kb_passage_vectors then holds each indexed passage's embedding, normalised, as `vector` (the
float32 bytes in kb_embeddings stay the cache), and a search ranks every passage by inner
product in the database, with no approximate index, as the numpy path does in memory: the
bot holds no matrix. Over normalised vectors the inner product is the cosine similarity
numpy computes, so KB_MIN_SCORE means the same on both paths (tests/features/knowledge/
test_pgvector.py); `<#>` is the negative inner product, cheaper than `<=>` (no norms).
"""

from __future__ import annotations

import array
import math
from collections.abc import Sequence

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from bot.plugin.storage import dialect_name

# The dimension test keeps out vectors of another size (`<#>` would raise on them), as the
# numpy path leaves them out of its matrix; an integer column, so no vector is read for it
# (vector_dims() per row cost ~0.5 ms at 10,000 passages). The distance is computed once per
# row: ordering by the alias, not by the expression again (~0.7 ms).
_DISTANCES = (
    "SELECT v.passage_id, v.embedding <#> CAST(:query AS vector) AS distance "
    "FROM kb_passage_vectors v WHERE v.model = :model AND v.dims = :dims"
)


def as_pgvector(vector: bytes) -> str:
    """float32 bytes, normalised, as pgvector's text form: repr of each float32's exact
    value, which pgvector's strtof reads back to the same float32."""
    values = array.array("f", vector)
    norm = math.sqrt(math.fsum(v * v for v in values)) or 1.0
    return "[" + ",".join(map(repr, array.array("f", (v / norm for v in values)))) + "]"


class PgVectorRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def enabled(self) -> bool:
        """PostgreSQL with kb_passage_vectors (so with the extension)."""
        if dialect_name(self.session) != "postgresql":
            return False
        found = await self.session.scalar(text("SELECT to_regclass('kb_passage_vectors')"))
        return found is not None

    async def add_document(self, document_id: int, model: str) -> int:
        """The vectors of a document's passages just stored (their embeddings are cached)."""
        rows = (await self.session.execute(
            text("SELECT p.id, e.vector FROM kb_passages p JOIN kb_embeddings e "
                 "ON e.content_hash = p.content_hash AND e.model = :model "
                 "WHERE p.document_id = :document_id"),
            {"model": model, "document_id": document_id},
        )).all()
        if rows:
            await self.session.execute(
                text("INSERT INTO kb_passage_vectors (passage_id, model, dims, embedding) "
                     "VALUES (:passage_id, :model, :dims, CAST(:embedding AS vector))"),
                [{"passage_id": passage_id, "model": model, "dims": len(vector) // 4,
                  "embedding": as_pgvector(vector)} for passage_id, vector in rows],
            )
        return len(rows)

    async def nearest(self, model: str, query: bytes, limit: int,
                      excluded: Sequence[int] = ()) -> list[tuple[int, float]]:
        """(passage id, cosine similarity) of the `limit` nearest passages, best first,
        leaving out the `excluded` ones (the asker may not read them) before ranking."""
        where = " AND NOT (v.passage_id = ANY(:excluded))" if excluded else ""
        rows = await self.session.execute(
            text(_DISTANCES + where + " ORDER BY distance LIMIT :limit"),
            {"model": model, "dims": len(query) // 4, "query": as_pgvector(query),
             "limit": limit, **({"excluded": list(excluded)} if excluded else {})},
        )
        return [(int(passage_id), -float(distance)) for passage_id, distance in rows]

    async def similarities(
        self, model: str, query: bytes, passage_ids: Sequence[int]
    ) -> dict[int, float]:
        """The cosine similarity of the query to each of these passages."""
        if not passage_ids:
            return {}
        rows = await self.session.execute(
            text(_DISTANCES + " AND v.passage_id = ANY(:ids)"),
            {"model": model, "dims": len(query) // 4, "query": as_pgvector(query),
             "ids": list(passage_ids)},
        )
        return {int(passage_id): -float(distance) for passage_id, distance in rows}
