"""Migrations: stairway, no drift between models and migrations, refusal of a newer schema,
the features' own branches beside fmbot's history."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, inspect, text

from bot.features.installed import load_tables
from bot.features.knowledge.models import UNMAPPED_SCHEMA_NAMES
from bot.storage.database import create_engine
from bot.storage.migrations import (
    BUILTIN,
    RELOCATED,
    SchemaTooNewError,
    alembic_config,
    check_schema_current,
    current_revision,
    downgrade_blocking,
    head_revision,
    head_revisions,
    migrate,
    migrate_blocking,
)
from bot.storage.models import Base
from tests.conftest import REPO_ROOT


def _revisions() -> list[Any]:
    script = ScriptDirectory.from_config(alembic_config("sqlite://"))
    return list(reversed(list(script.walk_revisions("base", "heads"))))


def _tables(conn: Connection) -> set[str]:
    return set(inspect(conn).get_table_names())


async def _table_names(url: str) -> set[str]:
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            return await conn.run_sync(_tables)
    finally:
        await engine.dispose()


def test_the_shared_history_is_one_chain_and_each_feature_a_branch_of_its_own() -> None:
    """fmbot's shared history (migrations/versions) is one chain named by number; each of
    its features' migrations is a branch of its own in its folder, named after it, starting
    from the shared history."""
    script = ScriptDirectory.from_config(alembic_config("sqlite://"))
    shared = [r for r in _revisions() if r.revision.isdigit()]
    # Numbers only grow from 0001; a gap is allowed while a branch waits for the revisions
    # of others to be merged.
    numbers = [int(revision.revision) for revision in shared]
    assert numbers[0] == 1
    assert numbers == sorted(set(numbers))
    for revision in shared:
        assert Path(revision.path).name.startswith(f"{revision.revision}_")
        assert Path(revision.path).parent == REPO_ROOT / "migrations" / "versions"
    branches = {name: folder for name, folder in BUILTIN}
    assert {"console", "desk", "identity", "knowledge", "tools"} <= set(branches)
    for revision in _revisions():
        if revision.revision.isdigit():
            continue
        label, number = revision.revision.rsplit("_", 1)
        assert Path(revision.path).parent == branches[label]
        assert Path(revision.path).name.startswith(f"{revision.revision}_")
        if number == "0001":
            assert revision.branch_labels == {label}
            assert str(revision.down_revision).isdigit()  # it starts from the shared history
        else:
            assert revision.down_revision == f"{label}_{int(number) - 1:04d}"
    assert sorted(script.get_heads()) == list(head_revisions())


@pytest.mark.slow
async def test_stairway(empty_database_url: str) -> None:
    """Each revision upgrades, downgrades cleanly and upgrades again (a feature's in its
    branch alone)."""
    for revision in _revisions():
        if revision.revision.isdigit():
            down = revision.down_revision or "base"
        else:
            down = f"{revision.revision.rsplit('_', 1)[0]}@-1"
        await asyncio.to_thread(migrate_blocking, empty_database_url, revision.revision)
        await asyncio.to_thread(downgrade_blocking, empty_database_url, down)
        await asyncio.to_thread(migrate_blocking, empty_database_url, revision.revision)
    assert await current_revision(empty_database_url) == head_revision()
    await asyncio.to_thread(downgrade_blocking, empty_database_url, "base")
    assert await _table_names(empty_database_url) <= {"alembic_version"}


def _diff(conn: Connection) -> list[Any]:
    context = MigrationContext.configure(
        conn, opts={"compare_type": True, "include_name": _mapped_name}
    )
    load_tables()  # the features' tables are in the schema too
    return list(compare_metadata(context, Base.metadata))


def _mapped_name(name: str | None, type_: str, parents: Any) -> bool:
    # The knowledge base's full-text index is raw DDL (FTS5 / a GIN expression index).
    return name not in UNMAPPED_SCHEMA_NAMES


async def test_models_match_migrations(database_url: str) -> None:
    engine = create_engine(database_url)
    try:
        async with engine.connect() as conn:
            diff = await conn.run_sync(_diff)
    finally:
        await engine.dispose()
    assert diff == []


async def test_migrate_is_idempotent_and_reports_head(empty_database_url: str) -> None:
    assert await check_schema_current(empty_database_url) is None
    await migrate(empty_database_url)
    await migrate(empty_database_url)
    assert await check_schema_current(empty_database_url) == head_revision()
    assert {"users", "chats", "conversations", "messages"} <= await _table_names(
        empty_database_url
    )


async def test_refuses_a_database_newer_than_the_code(database_url: str) -> None:
    engine = create_engine(database_url)
    try:
        async with engine.begin() as conn:
            await conn.execute(text("INSERT INTO alembic_version (version_num) VALUES ('9999')"))
    finally:
        await engine.dispose()
    with pytest.raises(SchemaTooNewError, match="'9999'") as caught:
        await migrate(database_url)
    assert caught.value.revision == "9999"
    assert caught.value.head == head_revision()  # every head fmbot knows, comma-joined
    assert "newer fmbot" in str(caught.value)


async def _run(url: str, *statements: str) -> list[Any]:
    engine = create_engine(url)
    try:
        async with engine.begin() as conn:
            found: list[Any] = []
            for statement in statements:
                result = await conn.execute(text(statement))
                if result.returns_rows:
                    found = [tuple(row) for row in result.all()]
            return found
    finally:
        await engine.dispose()


async def test_daily_counters_move_to_daily_counts_and_back(empty_database_url: str) -> None:
    """0026: the features' columns of daily_usage become daily_counts rows (the non-zero
    ones), and the downgrade puts them back (a day counted only there gets its row)."""
    url = empty_database_url
    await asyncio.to_thread(migrate_blocking, url, "0025")
    await _run(
        url,
        "INSERT INTO daily_usage (user_id, day, tokens, images, photos, speech_seconds,"
        " reasoning_tokens, web_searches) VALUES"
        " (1, '2026-11-01', 100, 2, 0, 30, 5, 0), (2, '2026-11-01', 7, 0, 0, 0, 0, 0),"
        " (1, '2026-11-02', 0, 0, 3, 0, 0, 4)",
    )
    await asyncio.to_thread(migrate_blocking, url, "0026")
    counts = await _run(url, "SELECT user_id, CAST(day AS VARCHAR(10)), kind, amount"
                             " FROM daily_counts ORDER BY user_id, day, kind")
    assert counts == [(1, "2026-11-01", "images", 2), (1, "2026-11-01", "speech_seconds", 30),
                      (1, "2026-11-02", "photos", 3), (1, "2026-11-02", "web_searches", 4)]
    usage = await _run(url, "SELECT user_id, tokens, reasoning_tokens FROM daily_usage"
                            " ORDER BY user_id, day")
    assert usage == [(1, 100, 5), (1, 0, 0), (2, 7, 0)]
    # Counted after the upgrade: a day with a photo and no answer has no daily_usage row.
    await _run(url, "INSERT INTO daily_counts (user_id, day, kind, amount)"
                    " VALUES (3, '2026-11-03', 'photos', 1), (3, '2026-11-03', 'other', 9)")
    await asyncio.to_thread(downgrade_blocking, url, "0025")
    back = await _run(url, "SELECT user_id, CAST(day AS VARCHAR(10)), tokens, images, photos,"
                           " speech_seconds, reasoning_tokens, web_searches FROM daily_usage"
                           " ORDER BY user_id, day")
    assert back == [(1, "2026-11-01", 100, 2, 0, 30, 5, 0), (1, "2026-11-02", 0, 0, 3, 0, 0, 4),
                    (2, "2026-11-01", 7, 0, 0, 0, 0, 0), (3, "2026-11-03", 0, 0, 1, 0, 0, 0)]
    assert "daily_counts" not in await _table_names(url)


# -- the features' own branches ---------------------------------------------------------------

HELPDESK = ("helpdesk", REPO_ROOT / "examples" / "helpdesk_plugin" / "fmbot_helpdesk"
            / "migrations")


async def _heads_and_parked(url: str) -> tuple[list[str], list[str]]:
    rows = await _run(url, "SELECT version_num FROM alembic_version")
    parked = (await _run(url, "SELECT version_num FROM alembic_version_parked")
              if "alembic_version_parked" in await _table_names(url) else [])
    return sorted(r[0] for r in rows), sorted(r[0] for r in parked)


async def test_a_plugins_version_table_of_0_3_is_adopted_without_loss(
    empty_database_url: str,
) -> None:
    """A database at today's head whose plugin kept its history in a table of its own (fmbot
    0.3: `alembic_version_helpdesk`) upgrades into one `alembic_version`, its rows kept."""
    url = empty_database_url
    await migrate(url)
    await _run(
        url,
        "CREATE TABLE alembic_version_helpdesk (version_num VARCHAR(32) NOT NULL PRIMARY KEY)",
        "INSERT INTO alembic_version_helpdesk VALUES ('helpdesk_0001')",
        "CREATE TABLE helpdesk_whoami_log (id INTEGER PRIMARY KEY, telegram_id BIGINT NOT NULL, "
        "looked_up_at TIMESTAMP NOT NULL)",
        "INSERT INTO helpdesk_whoami_log VALUES (1, 7301, '2026-11-27 10:00:00')",
    )
    await migrate(url, extra=[HELPDESK])
    assert await _heads_and_parked(url) == (sorted([*head_revisions(), "helpdesk_0001"]), [])
    assert "alembic_version_helpdesk" not in await _table_names(url)
    assert await _run(url, "SELECT telegram_id FROM helpdesk_whoami_log") == [(7301,)]
    assert await check_schema_current(url, [HELPDESK]) == ", ".join(
        sorted([*head_revisions(), "helpdesk_0001"]))


async def test_a_branch_upgrades_with_fmbots_history_and_parks_while_uninstalled(
    empty_database_url: str,
) -> None:
    url = empty_database_url
    await migrate(url, extra=[HELPDESK])  # a new database: both histories, one transaction
    assert await _heads_and_parked(url) == (sorted([*head_revisions(), "helpdesk_0001"]), [])
    await _run(url, "INSERT INTO helpdesk_whoami_log (telegram_id) VALUES (7301)")
    await migrate(url)  # the plugin taken out: its row aside, its table kept
    assert await _heads_and_parked(url) == (list(head_revisions()), ["helpdesk_0001"])
    await migrate(url, extra=[HELPDESK])  # back: where it was, nothing run again
    assert await _heads_and_parked(url) == (sorted([*head_revisions(), "helpdesk_0001"]), [])
    assert await _run(url, "SELECT telegram_id FROM helpdesk_whoami_log") == [(7301,)]


async def test_a_branchs_revision_newer_than_the_code_is_refused(database_url: str) -> None:
    await migrate(database_url, extra=[HELPDESK])
    await _run(database_url,
               "UPDATE alembic_version SET version_num = 'helpdesk_0002' "
               "WHERE version_num = 'helpdesk_0001'")
    with pytest.raises(SchemaTooNewError, match="'helpdesk_0002'"):
        await migrate(database_url, extra=[HELPDESK])


async def _rows(url: str) -> list[str]:
    rows = await _run(url, "SELECT version_num FROM alembic_version")
    return sorted(str(row[0]) for row in rows)


@pytest.mark.parametrize("old", [old for old, _ in RELOCATED])
async def test_a_database_at_a_shared_revision_now_a_features_upgrades_without_loss(
    empty_database_url: str, old: str,
) -> None:
    """A database migrated by fmbot 0.3's development to 0028-0035 (revisions of the shared
    history then, of the features' branches now): its row is read as the branches' revisions
    it stands for, the rest is applied, and nothing in its tables is lost."""
    url = empty_database_url
    await migrate(url)
    # As that fmbot left it: the revisions after `old` not applied, one row naming `old`.
    later = [new for _, new in RELOCATED[[o for o, _ in RELOCATED].index(old) + 1:]]
    for new in reversed(later):
        await asyncio.to_thread(downgrade_blocking, url, f"{new.rsplit('_', 1)[0]}@-1")
    await _run(url, "DELETE FROM alembic_version",
               f"INSERT INTO alembic_version (version_num) VALUES ('{old}')",
               "INSERT INTO daily_counts (user_id, day, kind, amount) "
               "VALUES (7301, '2026-11-28', 'tokens', 42)")
    # Read as what it stands for: neither newer than the code nor at its heads.
    assert await check_schema_current(url) == ", ".join(
        sorted({new.rsplit("_", 1)[0]: new for _, new in RELOCATED[
            :[o for o, _ in RELOCATED].index(old) + 1]}.values()))
    await migrate(url)
    assert await _rows(url) == list(head_revisions())
    assert await current_revision(url) == head_revision()
    assert await _run(url, "SELECT amount FROM daily_counts WHERE user_id = 7301") == [(42,)]
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            assert await conn.run_sync(_diff) == []  # the schema is the models'
    finally:
        await engine.dispose()
