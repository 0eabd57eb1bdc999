"""Knowledge-base queries: documents and passages, the embedding cache, the full-text index,
sync runs and the sources of answers."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, func, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.features.knowledge.models import KbAnswer, KbDocument, KbEmbedding, KbPassage, KbSyncRun
from bot.plugin.storage import dialect_name, insert_for, utcnow


@dataclass(frozen=True, slots=True)
class StoredDocument:
    id: int
    root: str
    path: str
    content_hash: str
    model: str


@dataclass(frozen=True, slots=True)
class NewPassage:
    ordinal: int
    heading: str
    text: str
    search_text: str
    content_hash: str
    title: str | None = None  # a FAQ pair's question; None: the document's title
    url: str | None = None  # a FAQ pair's link; None: the document's url
    access: str = ""  # the groups that may read it, comma-joined; "": everyone admitted


@dataclass(frozen=True, slots=True)
class PassageRow:
    id: int
    document_id: int
    path: str
    title: str
    url: str | None
    heading: str
    text: str


@dataclass(frozen=True, slots=True)
class KbStats:
    documents: int
    passages: int
    embeddings: int
    last_run: KbSyncRun | None


class KnowledgeRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    # -- documents -----------------------------------------------------------------------------

    async def documents(self) -> list[StoredDocument]:
        rows = await self.session.execute(
            select(KbDocument.id, KbDocument.root, KbDocument.path, KbDocument.content_hash,
                   KbDocument.model)
        )
        return [StoredDocument(*row) for row in rows]

    async def replace_document(
        self,
        *,
        root: str,
        path: str,
        title: str,
        url: str | None,
        content_hash: str,
        model: str,
        passages: Sequence[NewPassage],
    ) -> int:
        """Store the document with these passages in place of its earlier version."""
        await self.delete_documents_at([(root, path)])
        document = KbDocument(
            root=root, path=path, title=title, url=url, content_hash=content_hash, model=model,
            passage_count=len(passages), synced_at=utcnow(),
        )
        self.session.add(document)
        await self.session.flush()
        # A passage's own title and url (FAQ pairs) are named only when some passage has
        # them: most documents' inserts then read as before 0009 (a test indexes at 0004).
        own = any(p.title is not None or p.url is not None for p in passages)
        if passages:
            await self.session.execute(
                KbPassage.__table__.insert(),  # type: ignore[attr-defined]
                [
                    {"document_id": document.id, "ordinal": p.ordinal, "heading": p.heading,
                     "text": p.text, "search_text": p.search_text,
                     "content_hash": p.content_hash,
                     **({"title": p.title, "url": p.url} if own else {}),
                     **({"access": p.access} if p.access else {})}
                    for p in passages
                ],
            )
        return document.id

    async def delete_documents_at(self, keys: Iterable[tuple[str, str]]) -> int:
        removed = 0
        for root, path in keys:
            ids = list(await self.session.scalars(
                select(KbDocument.id).where(KbDocument.root == root, KbDocument.path == path)
            ))
            if not ids:
                continue
            # Passages first, explicitly: the FTS triggers must see each row go.
            await self.session.execute(delete(KbPassage).where(KbPassage.document_id.in_(ids)))
            await self.session.execute(delete(KbDocument).where(KbDocument.id.in_(ids)))
            removed += len(ids)
        return removed

    # -- embeddings ----------------------------------------------------------------------------

    async def cached_embeddings(self, hashes: Sequence[str], model: str) -> dict[str, bytes]:
        found: dict[str, bytes] = {}
        unique = list(dict.fromkeys(hashes))
        for start in range(0, len(unique), 500):
            rows = await self.session.execute(
                select(KbEmbedding.content_hash, KbEmbedding.vector).where(
                    KbEmbedding.model == model,
                    KbEmbedding.content_hash.in_(unique[start : start + 500]),
                )
            )
            found.update({digest: vector for digest, vector in rows})
        return found

    async def put_embedding(
        self, content_hash: str, model: str, model_version: str, vector: bytes
    ) -> None:
        statement = insert_for(self.session, KbEmbedding).values(
            content_hash=content_hash, model=model, model_version=model_version, vector=vector,
            created_at=utcnow(),
        )
        await self.session.execute(statement.on_conflict_do_nothing())

    async def vectors(self, model: str) -> AsyncIterator[tuple[int, bytes]]:
        """(passage id, vector) of every indexed passage embedded with `model`, streamed."""
        result = await self.session.stream(
            select(KbPassage.id, KbEmbedding.vector)
            .join(KbEmbedding, KbEmbedding.content_hash == KbPassage.content_hash)
            .where(KbEmbedding.model == model)
            .order_by(KbPassage.id)
            .execution_options(yield_per=1000)
        )
        async for passage_id, vector in result:
            yield passage_id, vector

    async def search_texts(self) -> AsyncIterator[str]:
        result = await self.session.stream(
            select(KbPassage.search_text).execution_options(yield_per=1000)
        )
        async for (search_text,) in result:
            yield search_text

    async def analyze(self) -> None:
        """Refresh PostgreSQL's statistics of the passages after a sync changed them, so the
        planner estimates full-text matches from them rather than from defaults. With
        autovacuum off, or before it comes round, a fresh table has none, and searches may be
        planned as sequential scans reading every passage's tsvector (at 10,000 passages: 72
        of 500 questions, execution p95 13 ms; after ANALYZE none, p95 2 ms, through the GIN
        index). SQLite: FTS5 needs none."""
        if dialect_name(self.session) == "postgresql":
            await self.session.execute(text("ANALYZE kb_passages, kb_documents"))

    async def shrink_cache(self) -> None:
        """SQLite: free this connection's page cache (up to 2 MB) after a read of every
        passage filled it; a search needs a few of its pages. PostgreSQL: nothing to do."""
        if dialect_name(self.session) == "sqlite":
            await self.session.execute(text("PRAGMA shrink_memory"))

    async def model_versions(self) -> list[tuple[str, str, int]]:
        rows = await self.session.execute(
            select(KbEmbedding.model, KbEmbedding.model_version, func.count())
            .group_by(KbEmbedding.model, KbEmbedding.model_version)
        )
        return [(model, version, count) for model, version, count in rows]

    # -- search --------------------------------------------------------------------------------

    async def lexical(
        self, terms: Sequence[str], limit: int, *, min_terms: int = 1,
        excluded: Sequence[int] = (),
    ) -> list[tuple[int, float]]:
        """(passage id, score: higher is better) for passages with any of the stemmed terms;
        with `min_terms` > 1, only passages holding at least that many of them are ranked,
        in the order they have without it (PostgreSQL: the same scores; SQLite: bm25 over the
        groups counts every term equally often, so its scores are scaled alike)."""
        terms = [term for term in dict.fromkeys(terms) if term]
        if not terms:
            return []
        groups = _at_least(terms, min_terms)
        # The passages the asker may not read are left out before ranking (issue 81).
        ids = [int(i) for i in excluded]
        if dialect_name(self.session) == "sqlite":
            query = " OR ".join(
                "(" + " AND ".join(_fts5_phrase(term) for term in group) + ")"
                for group in groups
            )
            rows = await self.session.execute(
                text(
                    "SELECT rowid, bm25(kb_passages_fts) AS rank FROM kb_passages_fts "
                    "WHERE kb_passages_fts MATCH :query"
                    + (f" AND rowid NOT IN ({','.join(map(str, ids))})" if ids else "")
                    + " ORDER BY rank LIMIT :limit"
                ),
                {"query": query, "limit": limit},
            )
            return [(int(rowid), -float(rank)) for rowid, rank in rows]
        # Ranked by the disjunction of every term, matched by `groups` through the GIN index.
        # (In FROM, the queries are parsed once even in a generic plan.)
        ranked = " | ".join(_pg_lexeme(term) for term in terms)
        matched = " | ".join(
            "(" + " & ".join(_pg_lexeme(term) for term in group) + ")" for group in groups
        )
        rows = await self.session.execute(
            text(
                "SELECT id, ts_rank(search_vector, r) AS rank FROM kb_passages, "
                "to_tsquery('simple', :ranked) AS r, to_tsquery('simple', :matched) AS m "
                "WHERE search_vector @@ m"
                + (" AND NOT (id = ANY(:excluded))" if ids else "")
                + " ORDER BY rank DESC LIMIT :limit"
            ),
            {"ranked": ranked, "matched": matched, "limit": limit,
             **({"excluded": ids} if ids else {})},
        )
        return [(int(row_id), float(rank)) for row_id, rank in rows]

    async def restricted(self) -> dict[int, frozenset[str]]:
        """The passages only some groups may read, with those groups."""
        rows = await self.session.execute(
            select(KbPassage.id, KbPassage.access).where(KbPassage.access != ""))
        return {int(i): frozenset(a.split(",")) for i, a in rows}

    async def passages(self, ids: Sequence[int]) -> dict[int, PassageRow]:
        if not ids:
            return {}
        rows = await self.session.execute(
            select(KbPassage.id, KbPassage.document_id, KbDocument.path,
                   func.coalesce(KbPassage.title, KbDocument.title),
                   func.coalesce(KbPassage.url, KbDocument.url), KbPassage.heading, KbPassage.text)
            .join(KbDocument, KbDocument.id == KbPassage.document_id)
            .where(KbPassage.id.in_(list(ids)))
        )
        return {row[0]: PassageRow(*row) for row in rows}

    # -- sync runs and status ------------------------------------------------------------------

    async def start_run(self) -> int:
        run = KbSyncRun(started_at=utcnow(), status="running", skipped=[])
        self.session.add(run)
        await self.session.flush()
        return run.id

    async def finish_run(self, run_id: int, *, status: str, **counts: Any) -> None:
        await self.session.execute(
            update(KbSyncRun).where(KbSyncRun.id == run_id)
            .values(status=status, finished_at=utcnow(), **counts)
        )

    async def abandon_running(self) -> int:
        """Runs left `running` by a process that died: marked interrupted."""
        result = await self.session.execute(
            update(KbSyncRun).where(KbSyncRun.status == "running")
            .values(status="interrupted", finished_at=utcnow())
        )
        return int(getattr(result, "rowcount", 0) or 0)

    async def stats(self) -> KbStats:
        documents = await self.session.scalar(select(func.count()).select_from(KbDocument))
        passages = await self.session.scalar(select(func.count()).select_from(KbPassage))
        embeddings = await self.session.scalar(select(func.count()).select_from(KbEmbedding))
        last = await self.session.scalar(select(KbSyncRun).order_by(KbSyncRun.id.desc()).limit(1))
        return KbStats(documents or 0, passages or 0, embeddings or 0, last)

    # -- answers -------------------------------------------------------------------------------

    async def save_answer(
        self, message_id: int, *, covered: bool, sources: list[dict[str, Any]], query: str
    ) -> None:
        statement = insert_for(self.session, KbAnswer).values(
            message_id=message_id, covered=covered, sources=sources, query=query
        )
        await self.session.execute(
            statement.on_conflict_do_update(
                index_elements=["message_id"],
                set_={"covered": covered, "sources": sources, "query": query},
            )
        )

    async def answer(self, message_id: int) -> KbAnswer | None:
        return await self.session.get(KbAnswer, message_id)


def _at_least(terms: Sequence[str], count: int) -> list[tuple[str, ...]]:
    """The groups of `count` terms whose disjunction means "at least `count` of the terms"
    (one group per term when `count` is 1; all the terms when there are no more)."""
    count = max(1, min(count, len(terms)))
    return list(itertools.combinations(terms, count))


def _fts5_phrase(term: str) -> str:
    return '"' + term.replace('"', '""') + '"'


def _pg_lexeme(term: str) -> str:
    # A quoted lexeme: to_tsquery parses operators, so anything else is quoted away.
    return "'" + term.replace("\\", "\\\\").replace("'", "''") + "'"
