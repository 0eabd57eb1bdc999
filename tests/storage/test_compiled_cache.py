"""The process's engines share their compiled SQL (bot/storage/compiled.py): a statement one
engine compiled is not compiled again by another engine on a database of the same kind, its
results are each database's own, and the cache stays within its bound."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

from sqlalchemy import bindparam, select

from bot.storage.compiled import SHARED, SharedCompiledCache
from bot.storage.database import Database
from bot.storage.models import Chat
from bot.storage.repositories import ChatRepository
from tests.db import sqlite_url_for

# A statement no other test runs, so that the process's cache has not seen it yet.
TITLE_OF = (select(Chat.title, Chat.created_at)
            .where(Chat.id == bindparam("which"), Chat.type == "cachetest"))


async def test_a_second_engine_runs_what_the_first_compiled(
    tmp_path: Path, database_url: str
) -> None:
    cache = SharedCompiledCache()  # the shared one's role, for this test alone
    if database_url.startswith("sqlite"):  # a copy of the migrated database
        shutil.copy(database_url.split("///", 1)[1], tmp_path / "second.db")
        other = sqlite_url_for(tmp_path / "second.db")
    else:  # the same PostgreSQL database through an engine of its own
        other = database_url
    first = Database(database_url, execution_options={"compiled_cache": cache})
    second = Database(other, execution_options={"compiled_cache": cache})
    try:
        for db, chat_id, title in ((first, 7, "one"), (second, 8, "two")):
            async with db.session() as session:
                await ChatRepository(session).upsert(chat_id, "cachetest", title)
        before = len(cache)
        async with first.session() as session:
            one = (await session.execute(TITLE_OF, {"which": 7})).one()
        compiled = len(cache)
        async with second.session() as session:
            two = (await session.execute(TITLE_OF, {"which": 8})).one()
        assert compiled == before + 1, "the first engine compiles it"
        assert len(cache) == compiled, "the second one takes the first one's compiled form"
        assert (one.title, two.title) == ("one", "two"), "each database answers its own"
        # The result processors (a timestamp read back) work through the shared form.
        assert isinstance(one.created_at, dt.datetime)
        assert isinstance(two.created_at, dt.datetime)
    finally:
        await first.dispose()
        await second.dispose()


def test_the_cache_is_bounded_and_keeps_the_recently_used() -> None:
    cache = SharedCompiledCache(size=2)
    cache["a"], cache["b"] = 1, 2
    assert cache.get("a") == 1  # used: "b" is now the oldest
    cache["c"] = 3
    assert sorted(cache) == ["a", "c"]
    assert len(cache) == 2
    assert cache.get("b") is None


def test_a_key_of_another_shape_is_kept_as_it_is() -> None:
    cache = SharedCompiledCache()
    cache[("not a dialect", 1)] = "x"
    assert cache[("not a dialect", 1)] == "x"
    del cache[("not a dialect", 1)]
    assert len(cache) == 0


async def test_every_engine_is_given_the_shared_cache(tmp_path: Path) -> None:
    db = Database(sqlite_url_for(tmp_path / "bot.db"))
    try:
        for engine in (db.engine, db.read_engine):
            assert engine.sync_engine.get_execution_options()["compiled_cache"] is SHARED
    finally:
        await db.dispose()
