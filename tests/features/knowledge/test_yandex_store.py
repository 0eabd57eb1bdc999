"""KB_BACKEND=yandex: `kb sync` keeps a Yandex Vector Store in step with KB_PATH, against the
fake server's Files and Vector Stores (real HTTP on loopback, a real migrated database)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.features.knowledge.store_sync import StoreSync
from bot.foundation_models.auth import ApiKeyAuth
from bot.foundation_models.transport import RetryPolicy, Timeouts
from bot.foundation_models.vector_stores import VectorStoreClient
from bot.storage.database import Database
from tests.conversation.conftest import API_KEY, FOLDER
from tests.fakes.yandex.server import FakeFoundationModels
from tests.features.knowledge.test_eval_fixture import environment, fmbot

DOCS = {
    "delivery.md": "# Delivery\n\nParcels arrive within three working days in Moscow.\n",
    "refunds.md": "# Refunds\n\nA refund reaches the card within ten days.\n",
    "faq/hours.txt": "The shop is open from nine to six on weekdays.\n",
}


def _write(folder: Path) -> Path:
    for name, text in DOCS.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(text)
    return folder


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    (tmp_path / "kb").mkdir()
    return _write(tmp_path / "kb")


@pytest.fixture
async def store_client(fm: FakeFoundationModels) -> AsyncIterator[VectorStoreClient]:
    client = VectorStoreClient(base_url=f"{fm.url}/v1", auth=ApiKeyAuth(API_KEY),
                               folder_id=FOLDER, timeouts=Timeouts(connect=2, first_byte=5,
                                                                   idle=2),
                               retry=RetryPolicy(max_attempts=1))
    try:
        yield client
    finally:
        await client.aclose()


def _syncer(database: Database, client: VectorStoreClient, folder: Path,
            store_id: str = "") -> StoreSync:
    return StoreSync(sessionmaker=database.sessionmaker, client=client, roots=[folder],
                     store_id=store_id)


def _store_files(fm: FakeFoundationModels, store_id: str) -> dict[str, bytes]:
    """filename -> bytes of what the store holds now."""
    return {fm.stored_files[f].filename: fm.stored_files[f].data
            for f in fm.stores[store_id].files}


@pytest.mark.slow
async def test_kb_sync_twice_uploads_once(fm: FakeFoundationModels, tmp_path: Path,
                                          folder: Path) -> None:
    env = environment(fm, tmp_path, KB_PATH=str(folder), KB_BACKEND="yandex",
                      TEXT_API="responses")
    code, out, err = await fmbot("kb", "sync", env=env)
    assert code == 0, err
    [store_id] = fm.stores
    assert f"vector store: {store_id} (created now; set KB_VECTOR_STORE_ID={store_id}" in out
    assert "files: 3 (3 indexed, 0 unchanged, 0 removed)" in out
    assert fm.file_uploads == 3
    assert sorted(_store_files(fm, store_id)) == ["delivery.md", "hours.txt", "refunds.md"]
    # Uploads carry the documented multipart form and the folder as the OpenAI project.
    upload = next(r for r in fm.requests if r.path == "/v1/files")
    assert upload.headers["Content-Type"].startswith("multipart/form-data; boundary=")
    assert upload.headers["OpenAI-Project"] == FOLDER
    assert upload.headers["Authorization"] == f"Bearer {API_KEY}"

    code, out, err = await fmbot("kb", "sync", env=env)
    assert code == 0, err
    assert f"vector store: {store_id}\n" in out  # the same store, found in the database
    assert "files: 3 (0 indexed, 3 unchanged, 0 removed)" in out
    assert fm.file_uploads == 3
    assert list(fm.stores) == [store_id]


async def test_an_edited_file_is_replaced_and_its_old_copy_deleted(
    fm: FakeFoundationModels, database: Database, store_client: VectorStoreClient,
    folder: Path,
) -> None:
    store_id = fm.create_store("configured").id
    syncer = _syncer(database, store_client, folder, store_id)
    first = await syncer.sync()
    assert (first.indexed, first.created) == (3, False)
    old_ids = set(fm.stores[store_id].files)

    (folder / "refunds.md").write_text("# Refunds\n\nA refund reaches the card in 5 days.\n")
    report = await syncer.sync()
    assert (report.indexed, report.unchanged, report.removed) == (1, 2, 0)
    files = _store_files(fm, store_id)
    assert files["refunds.md"] == b"# Refunds\n\nA refund reaches the card in 5 days.\n"
    assert len(fm.stores[store_id].files) == 3
    replaced = old_ids - set(fm.stores[store_id].files)
    assert len(replaced) == 1
    assert not replaced & set(fm.stored_files)  # detached and deleted, not left to pay for
    assert fm.file_uploads == 4


async def test_a_removed_file_is_deleted_from_the_store(
    fm: FakeFoundationModels, database: Database, store_client: VectorStoreClient,
    folder: Path,
) -> None:
    store_id = fm.create_store("configured").id
    syncer = _syncer(database, store_client, folder, store_id)
    await syncer.sync()
    (folder / "faq" / "hours.txt").unlink()
    report = await syncer.sync()
    assert (report.indexed, report.unchanged, report.removed) == (0, 2, 1)
    assert sorted(_store_files(fm, store_id)) == ["delivery.md", "refunds.md"]
    assert len(fm.stored_files) == 2
    # Found by the store's own search, as `kb search` asks it.
    hits = await store_client.search(store_id, "when does a refund reach the card")
    assert hits
    assert hits[0].filename == "refunds.md"


async def test_an_emptied_folder_keeps_the_store_until_removal_is_allowed(
    fm: FakeFoundationModels, database: Database, store_client: VectorStoreClient,
    folder: Path,
) -> None:
    store_id = fm.create_store("configured").id
    syncer = _syncer(database, store_client, folder, store_id)
    await syncer.sync()
    for name in DOCS:
        (folder / name).unlink()
    kept = await syncer.sync()
    assert kept.removal_refused
    assert kept.kept == 3
    assert len(fm.stores[store_id].files) == 3
    removed = await syncer.sync(allow_removal=True)
    assert removed.removed == 3
    assert not fm.stores[store_id].files


async def test_a_store_the_account_may_not_use_fails_the_sync_naming_the_role(
    fm: FakeFoundationModels, tmp_path: Path, folder: Path
) -> None:
    fm.vector_stores_forbidden = True
    env = environment(fm, tmp_path, KB_PATH=str(folder), KB_BACKEND="yandex",
                      TEXT_API="responses", KB_VECTOR_STORE_ID="fvt-missing")
    code, _out, err = await fmbot("kb", "sync", env=env)
    assert code == 1
    assert "Traceback" not in err
    assert "ai.assistants.editor" in err
