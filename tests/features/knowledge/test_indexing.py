"""Sync against the fake Yandex server on SQLite and PostgreSQL: incremental, cached by content
and model, resumable, within the embedding quota, one bad file never stopping the rest."""

from __future__ import annotations

import asyncio
import itertools
import time
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from bot.features.knowledge import KbMode
from bot.features.knowledge.base import KnowledgeBase
from bot.features.knowledge.indexer import Progress
from bot.features.knowledge.models import KbDocument, KbEmbedding, KbSyncRun
from bot.features.knowledge.telegram import describe
from bot.foundation_models.auth import ApiKeyAuth
from bot.foundation_models.client import FoundationModelsClient
from bot.foundation_models.embedder import ATTEMPTS, Embedder
from bot.foundation_models.transport import RetryPolicy
from bot.storage.database import Database
from bot.telegram.texts import Translator
from tests.e2e.processes import FM_API_KEY, FM_FOLDER, start_fm_process
from tests.fakes.yandex.server import FakeFoundationModels
from tests.features.knowledge.conftest import KbFactory, embedding_calls

FILES = 39


@pytest.mark.slow
async def test_first_sync_indexes_everything_and_a_second_makes_no_embedding_calls(
    make_kb: KbFactory, fm: FakeFoundationModels, database: Database
) -> None:
    kb = make_kb()
    first = await kb.sync()
    assert (first.files, first.indexed, first.skipped) == (FILES, FILES, [])
    assert first.embedded == embedding_calls(fm) == first.passages > FILES
    second = await kb.sync()
    assert (second.indexed, second.unchanged, second.embedded) == (0, FILES, 0)
    assert embedding_calls(fm) == first.embedded
    async with database.sessionmaker() as session:
        versions = set(await session.scalars(select(KbEmbedding.model_version)))
        runs = list(await session.scalars(select(KbSyncRun.status)))
    assert versions == {"06.12.2023"}  # the modelVersion the server reported
    assert runs == ["done", "done"]
    found = await kb.search("How long does standard delivery take?")
    assert found.covered
    assert found.hits[0].path == "shop/shipping.md"
    assert found.hits[0].url == "https://help.northwind-shop.example/delivery"


@pytest.mark.slow
async def test_changed_removed_and_new_files(
    make_kb: KbFactory, fm: FakeFoundationModels, docs: Path, database: Database
) -> None:
    kb = make_kb()
    await kb.sync()
    before = embedding_calls(fm)
    returns = docs / "shop" / "returns.md"
    returns.write_text(returns.read_text(encoding="utf-8").replace("30 days", "60 days"),
                       encoding="utf-8")
    (docs / "shop" / "warranty.md").unlink()
    (docs / "shop" / "new.md").write_text("# Pets\n\nDogs are welcome in our showrooms.",
                                          encoding="utf-8")
    report = await kb.sync()
    assert (report.indexed, report.removed, report.files) == (2, 1, FILES)
    # Only the changed passage of returns.md and the new file's passage are embedded again.
    assert report.embedded == embedding_calls(fm) - before == 2
    assert report.reused == report.passages - 2
    found = await kb.search("Are dogs welcome in the showroom?")
    assert found.hits[0].path == "shop/new.md"
    texts = [hit.text for hit in (await kb.search("how many days to return an item")).hits]
    assert any("60 days" in text for text in texts)
    assert not any("30 days of delivery" in text for text in texts)
    async with database.sessionmaker() as session:
        paths = set(await session.scalars(select(KbDocument.path)))
    assert "shop/warranty.md" not in paths
    assert "shop/new.md" in paths


@pytest.mark.slow
async def test_a_new_embedding_model_embeds_again(
    make_kb: KbFactory, fm: FakeFoundationModels
) -> None:
    first = await make_kb().sync()
    second = await make_kb(doc_model="text-search-doc/rc").sync()
    assert second.indexed == FILES
    assert second.embedded == first.embedded
    assert [r.json["modelUri"] for r in fm.requests][-1].endswith("/text-search-doc/rc")


@pytest.mark.slow
async def test_bad_files_are_skipped_with_reasons_and_the_rest_indexed(
    make_kb: KbFactory, docs: Path
) -> None:
    (docs / "empty.md").write_text("\n\n", encoding="utf-8")
    (docs / "picture.txt").write_bytes(b"\x89PNG\x00\x00binary")
    (docs / "notes.docx").write_bytes(b"PK")
    (docs / "notes.odt").write_bytes(b"PK")
    (docs / "heading.md").write_text("# Only a heading", encoding="utf-8")
    kb = make_kb()
    report = await kb.sync()
    reasons = {s.path: s.reason for s in report.skipped}
    assert reasons["empty.md"] == "empty"
    assert reasons["picture.txt"] == "binary file"
    assert reasons["notes.docx"] == "not a readable DOCX (damaged?)"
    assert reasons["notes.odt"] == "unsupported file type .odt"
    assert reasons["heading.md"] == "no text to index"
    assert report.indexed == FILES
    # What /kb shows admins: the state and the files it could not index, with the reasons.
    shown = describe(await kb.status(), Translator("en"))
    assert f"{FILES} documents, 71 passages, 71 searchable" in shown
    assert "Last sync: done" in shown
    failures = shown[shown.index("Not indexed:"):].splitlines()[1:]
    assert sorted(failures) == sorted(f"- {path}: {reason}" for path, reason in reasons.items())


@pytest.mark.slow
async def test_an_interrupted_sync_continues_where_it_stopped(
    make_kb: KbFactory, fm: FakeFoundationModels, database: Database
) -> None:
    kb = make_kb()
    reached = asyncio.Event()

    def progress(step: Progress) -> None:
        if step.done == 10:
            reached.set()

    task = asyncio.create_task(kb.sync(progress))
    await reached.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    done_before = embedding_calls(fm)
    report = await make_kb().sync()
    assert report.unchanged >= 10
    assert report.indexed + report.unchanged == FILES
    async with database.sessionmaker() as session:
        stored = await session.scalar(select(func.count()).select_from(KbEmbedding))
        runs = list(await session.scalars(select(KbSyncRun.status).order_by(KbSyncRun.id)))
    # Every embedding was asked for once: the first run's are reused, not asked again.
    assert done_before + report.embedded == embedding_calls(fm) == stored
    assert done_before > 0
    assert report.embedded > 0
    assert runs == ["interrupted", "done"]


@pytest.mark.slow
async def test_embeddings_failing_skip_the_file_and_the_sync_goes_on(
    make_kb: KbFactory, fm: FakeFoundationModels
) -> None:
    fm.fail_next(500, path="textEmbedding", times=ATTEMPTS)  # every attempt of one passage
    report = await make_kb().sync()
    failed = [s for s in report.skipped if s.reason.startswith("embedding failed")]
    assert len(failed) == 1
    assert report.indexed == FILES - 1
    again = await make_kb().sync()
    assert again.indexed == 1
    assert not again.skipped


@pytest.mark.slow
async def test_a_429_is_retried_through_the_pacer(
    make_kb: KbFactory, fm: FakeFoundationModels
) -> None:
    fm.fail_next(429, path="textEmbedding", retry_after=0.2, times=2)
    fm.fail_next(503, path="textEmbedding", times=1)
    report = await make_kb().sync()
    assert report.indexed == FILES
    assert not report.skipped
    statuses = [r.path for r in fm.requests if r.path.endswith("textEmbedding")]
    assert len(statuses) == report.embedded + 3


@pytest.mark.slow
async def test_never_past_the_embedding_quota(sqlite_database: Database, docs: Path) -> None:
    # The fake runs as its own process here, so that its clock of arrivals is not stalled
    # along with the client's event loop on a busy machine.
    script = docs.parent / "quota.json"
    script.write_text('{"action": "set", "embedding_rps_limit": 10}', encoding="utf-8")
    server = await start_fm_process(script=script)
    client = FoundationModelsClient(folder_id=FM_FOLDER, auth=ApiKeyAuth(FM_API_KEY),
                                    llm_url=server.url, retry=RetryPolicy(max_attempts=1))
    try:
        for number in range(10):
            (docs / f"extra{number}.md").write_text(
                f"# Topic {number}\n\nFact number {number}.", encoding="utf-8")
        embedder = Embedder(client, doc_model="text-search-doc/latest",
                            query_model="text-search-query/latest", rps=10)
        kb = KnowledgeBase(sessionmaker=sqlite_database.sessionmaker, embedder=embedder,
                           roots=[docs], mode=KbMode.ASSIST)
        started = time.monotonic()
        report = await kb.sync()
        elapsed = time.monotonic() - started
        async with httpx.AsyncClient() as http:
            requests = (await http.get(f"{server.url}/_control/requests")).json()
    finally:
        await client.aclose()
        await server.stop()
    assert not report.skipped
    assert report.indexed == FILES + 10
    # The pacing is what kept to the quota: it allows no less time than this.
    assert elapsed >= (report.embedded - 1) / 10
    calls = [r for r in requests if r["path"].endswith("textEmbedding")]
    rejected = sum(1 for r in calls if r["status"] == 429)
    assert len(calls) == report.embedded + rejected
    # Every request was answered at once (no 429, so no retry), unless one reached the server
    # late enough to matter, which the arrivals show. The pacer releases requests an
    # `interval` apart (5% over 1/rps: eleven span 1.05 s); a request held back on the
    # client's busy loop after its release, or stamped late by a busy server, arrives that
    # much after the previous one, and the next one that much sooner: past the 50 ms of slack,
    # eleven can fall within a second. Only the arrivals up to the first 429 count: after it
    # the gaps hold the retry's back-off, not the pacing.
    interval = embedder.pacer.interval
    first_429 = next((n for n, r in enumerate(calls) if r["status"] == 429), len(calls) - 1)
    paced = calls[: first_429 + 1]
    late = max(b["at"] - a["at"] - interval for a, b in itertools.pairwise(paced))
    slack = 0.05  # the test's own figure: a pacer that lost it fails on a quiet machine
    if late < slack:
        assert rejected == 0, (rejected, late)
    else:  # a stalled machine: a few retried 429s, never the burst of a missing pacer
        assert rejected < 10, (rejected, late)


@pytest.mark.slow
async def test_two_syncs_at_once_leave_one_copy_of_each_document(
    make_kb: KbFactory, database: Database
) -> None:
    # The bot's background sync and `fmbot kb sync` in another process, on one database.
    first, second = await asyncio.gather(make_kb().sync(), make_kb().sync())
    assert first.status == second.status == "done"
    async with database.sessionmaker() as session:
        paths = list(await session.scalars(select(KbDocument.path)))
    assert sorted(paths) == sorted(set(paths))
    assert len(paths) == FILES
