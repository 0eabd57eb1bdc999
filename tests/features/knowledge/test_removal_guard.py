"""Issue 27, item 9: an empty or unmounted knowledge-base folder never silently empties the
index. A sync that would remove KB_REMOVAL_LIMIT of the indexed documents or more (default:
all of them) keeps them and says why, until an admin confirms with `kb sync --allow-removal`;
the periodic sync in `run` logs a WARNING and keeps the index."""

from __future__ import annotations

import logging
import re
import shutil
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot.features.knowledge.background import sync_logged
from bot.features.knowledge.models import KbDocument
from bot.storage.database import Database
from tests.fakes.yandex.server import FakeFoundationModels
from tests.features.knowledge.conftest import FIXTURE_KB, KbFactory
from tests.features.knowledge.test_eval_fixture import environment, fmbot


async def _documents(database: Database) -> int:
    async with database.sessionmaker() as session:
        return int(await session.scalar(select(func.count()).select_from(KbDocument)) or 0)


def _empty(folder: Path) -> None:
    shutil.rmtree(folder)
    folder.mkdir()


@pytest.mark.slow
async def test_an_emptied_folder_keeps_the_index_until_removal_is_allowed(
    make_kb: KbFactory, docs: Path, database: Database
) -> None:
    kb = make_kb()
    first = await kb.sync()
    indexed = await _documents(database)
    assert indexed == first.files > 0
    _empty(docs)  # unmounted, or emptied by mistake
    report = await kb.sync()
    assert report.removal_refused
    assert (report.removed, report.kept) == (0, indexed)
    assert "--allow-removal" in report.refusal()
    assert await _documents(database) == indexed
    assert (await kb.search("how many days to return an item")).hits  # still answers
    confirmed = await kb.sync(allow_removal=True)
    assert (confirmed.removed, confirmed.kept) == (indexed, 0)
    assert await _documents(database) == 0


@pytest.mark.slow
async def test_removing_a_few_documents_is_no_matter_for_the_guard(
    make_kb: KbFactory, docs: Path
) -> None:
    kb = make_kb()
    await kb.sync()
    (docs / "shop" / "warranty.md").unlink()
    report = await kb.sync()
    assert (report.removed, report.kept) == (1, 0)


@pytest.mark.slow
async def test_a_lower_limit_refuses_a_large_share(make_kb: KbFactory, docs: Path) -> None:
    kb = make_kb(removal_limit=0.5)
    first = await kb.sync()
    shop = sorted(docs.rglob("*.md"))[: first.files // 2 + 1]  # noqa: ASYNC240 - a test
    for path in shop:
        path.unlink()
    report = await kb.sync()
    assert report.kept == len(shop)
    assert report.removed == 0


@pytest.mark.slow
async def test_the_periodic_sync_logs_a_warning_and_keeps_the_index(
    make_kb: KbFactory, docs: Path, database: Database, caplog: pytest.LogCaptureFixture
) -> None:
    kb = make_kb()
    await kb.sync()
    indexed = await _documents(database)
    _empty(docs)
    with caplog.at_level(logging.WARNING, logger="bot.features.knowledge.background"):
        report = await sync_logged(kb)
    assert report is not None
    assert report.removal_refused
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert any("kept the index" in r.getMessage() for r in warnings)
    assert await _documents(database) == indexed


@pytest.mark.slow
async def test_kb_sync_refuses_on_the_command_line_and_allow_removal_confirms(
    fm: FakeFoundationModels, tmp_path: Path
) -> None:
    folder = tmp_path / "kb"
    shutil.copytree(FIXTURE_KB, folder)
    env = environment(fm, tmp_path, KB_PATH=str(folder))
    code, out, err = await fmbot("kb", "sync", env=env)
    assert code == 0, err
    indexed = re.search(r"\((\d+) indexed", out)
    assert indexed is not None, out
    _empty(folder)
    code, out, err = await fmbot("kb", "sync", env=env)
    assert code == 1
    assert "Traceback" not in err
    assert "0 removed" in out
    assert "kb sync refused to remove documents" in err
    assert "--allow-removal" in err
    code, out, err = await fmbot("kb", "sync", "--allow-removal", env=env)
    assert code == 0, err
    assert f"{indexed[1]} removed" in out
