"""The PostgreSQL fixture hands each test an empty database at the newest revision: every row
an earlier test wrote is gone, each sequence it drew from starts again, and tables it left
alone are not rewritten (tests/db.py `_emptied`)."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import text

from bot.storage.database import create_engine
from bot.storage.migrations import head_revision
from tests.db import _emptied, _execute_autocommit


async def _rows(url: str, query: str) -> list[tuple[object, ...]]:
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            return [tuple(row) for row in (await conn.execute(text(query))).all()]
    finally:
        await engine.dispose()


def _filenode(url: str, table: str) -> object:
    return asyncio.run(_rows(url, f"SELECT pg_relation_filenode('{table}')"))[0][0]


@pytest.mark.postgres
def test_what_a_test_wrote_is_gone_and_its_sequences_start_again(postgres_url: str) -> None:
    # `postgres_url`, emptied first: an earlier test on this worker may have left rows, chat 7
    # among them (the fixture empties before a test, not after).
    url = postgres_url
    asyncio.run(_execute_autocommit(
        url,
        "INSERT INTO chats (id, type, created_at, updated_at) "
        "VALUES (7, 'private', now(), now())",
        "INSERT INTO conversations (chat_id, opened_at, closed_at) "
        "VALUES (7, now(), now()), (7, now(), NULL)",
        "DELETE FROM alembic_version",
        "INSERT INTO alembic_version (version_num) VALUES ('a-newer-one')",
    ))
    untouched = _filenode(url, "kb_documents")
    _emptied(url, head_revision())
    assert asyncio.run(_rows(url, "SELECT count(*) FROM chats"))[0][0] == 0
    assert asyncio.run(_rows(url, "SELECT count(*) FROM conversations"))[0][0] == 0
    assert sorted(asyncio.run(_rows(url, "SELECT version_num FROM alembic_version"))) == [
        (head,) for head in head_revision().split(", ")
    ]
    # A table no test wrote to keeps its file: it was not truncated.
    assert _filenode(url, "kb_documents") == untouched
    asyncio.run(_execute_autocommit(
        url,
        "INSERT INTO chats (id, type, created_at, updated_at) "
        "VALUES (7, 'private', now(), now())",
        "INSERT INTO conversations (chat_id, opened_at) VALUES (7, now())",
    ))
    assert asyncio.run(_rows(url, "SELECT id FROM conversations")) == [(1,)]
    _emptied(url, head_revision())
