"""Knowledge-base fixtures: the fake Yandex server, the real client, a KnowledgeBase on a
migrated database (SQLite, and PostgreSQL when reachable) over a folder of documents."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from bot.features.knowledge import KbMode
from bot.features.knowledge.base import KnowledgeBase
from bot.foundation_models.base import client_over
from bot.foundation_models.client import FoundationModelsClient
from bot.foundation_models.embedder import Embedder
from bot.storage.database import Database
from tests.conversation.conftest import API_KEY, FOLDER, fake_client
from tests.fakes.yandex.server import FakeFoundationModels

FIXTURE = Path(__file__).parent / "fixture"
FIXTURE_KB = FIXTURE / "kb"
EMBEDDING = "/foundationModels/v1/textEmbedding"
# The fixture's threshold on the fake server's embeddings, as `kb eval` recommends it.
FIXTURE_MIN_SCORE = 0.19


@pytest.fixture
async def fm() -> AsyncIterator[FakeFoundationModels]:
    async with FakeFoundationModels(api_key=API_KEY, folder_id=FOLDER) as server:
        yield server


@pytest.fixture
async def client(fm: FakeFoundationModels) -> AsyncIterator[FoundationModelsClient]:
    """The real client on the fake service in process, as `BotTester` gives it (no socket: an
    embedding over loopback HTTP cost 3.5 ms more CPU, a quarter of a sync's). What the
    client does on the wire is tests/foundation_models'; the commands run as processes
    still reach `fm.url`."""
    http = client_over(fm.transport())
    model = fake_client(fm.url, http=http)
    try:
        yield model
    finally:
        await model.aclose()
        await http.aclose()


@pytest.fixture
def docs(tmp_path: Path) -> Path:
    """A writable copy of the fixture's documents."""
    target = tmp_path / "kb"
    shutil.copytree(FIXTURE_KB, target)
    return target


KbFactory = Callable[..., KnowledgeBase]


@pytest.fixture
def make_kb(database: Database, client: FoundationModelsClient, docs: Path) -> KbFactory:
    def make(**kwargs: object) -> KnowledgeBase:
        options: dict[str, object] = {
            "roots": [docs], "mode": KbMode.ASSIST, "min_score": FIXTURE_MIN_SCORE,
        }
        rps = float(kwargs.pop("rps", 1000.0))  # type: ignore[arg-type]
        doc_model = str(kwargs.pop("doc_model", "text-search-doc/latest"))
        options.update(kwargs)
        embedder = Embedder(client, doc_model=doc_model, query_model="text-search-query/latest",
                            rps=rps, backoff=0.01)
        return KnowledgeBase(sessionmaker=database.sessionmaker, embedder=embedder,
                             read_sessionmaker=database.read_sessionmaker,
                             **options)  # type: ignore[arg-type]

    return make


def embedding_calls(fm: FakeFoundationModels) -> int:
    return sum(1 for r in fm.requests if r.path == EMBEDDING)
