"""Alice AI ART on the synchronous Images API: a durable job like YandexART's, stored before
the request, whose picture is the answer's bytes; a restart mid-request asks again at most once.
Real client, fake server (bot/testing/yandex/images.py), migrated database."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator

import pytest

from bot.features.images.models import ImageJobStatus
from bot.features.images.repository import ImageJobRepository
from bot.features.images.service import ImageService
from bot.features.images.usage import images_of
from bot.foundation_models.client import FoundationModelsClient
from bot.foundation_models.errors import ImageRefusedError, OperationFailedError
from bot.foundation_models.types import ImageOptions
from bot.storage.database import Database
from bot.testing.yandex import payloads as p
from bot.testing.yandex.images import IMAGES_PATH
from tests.conversation.conftest import FAST_POLL, FOLDER, fake_client
from tests.fakes.yandex.server import FakeFoundationModels

MODEL = "aliceai-image-art-3.0"


def service(db: Database, client: FoundationModelsClient) -> ImageService:
    return ImageService(sessionmaker=db.sessionmaker, model=client, image_model=MODEL,
                        policy=FAST_POLL)


@pytest.fixture
def alice(database: Database, client: FoundationModelsClient) -> ImageService:
    return service(database, client)


async def row(db: Database, job_id: int) -> tuple[ImageJobStatus, int, str | None]:
    async with db.sessionmaker() as session:
        job = await ImageJobRepository(session).get(job_id)
        assert job is not None
        return job.status, job.requests, job.error


async def test_the_job_is_stored_before_the_request_and_the_photo_is_the_answers_bytes(
    alice: ImageService, fm: FakeFoundationModels, database: Database
) -> None:
    fm.images_api_bytes = p.tiny_jpeg(200)  # not the YandexART picture
    wide = ImageOptions(aspect_ratio=(16, 9))
    ref = await alice.submit(7, 11, "  a red fox in the snow  ", wide)
    assert ref.status is ImageJobStatus.RUNNING
    assert ref.operation_id is None
    assert fm.images_api_requests == 0  # stored and committed; nothing asked yet
    assert await row(database, ref.job_id) == (ImageJobStatus.RUNNING, 0, None)

    assert await alice.wait(ref.job_id) == fm.images_api_bytes
    (request,) = [r for r in fm.requests if r.path == IMAGES_PATH]
    assert request.json == {"model": f"art://{FOLDER}/{MODEL}", "prompt": "a red fox in the snow",
                            "size": "16x9"}
    assert request.headers["Authorization"].startswith("Api-Key ")
    assert not any("imageGeneration" in path or path.startswith("/operations/")
                   for path in fm.paths())
    await alice.mark_delivered(ref.job_id, 9001)
    assert (await row(database, ref.job_id))[:2] == (ImageJobStatus.DELIVERED, 1)
    assert await alice.unfinished() == []
    async with database.sessionmaker() as session:
        drawn = await images_of(session, 11, dt.datetime.now(dt.UTC).date())
    assert drawn == 1


async def test_a_refusal_is_stored_with_the_reason(
    alice: ImageService, fm: FakeFoundationModels, database: Database
) -> None:
    fm.refuse_images = True
    ref = await alice.submit(7, 11, "something forbidden")
    with pytest.raises(ImageRefusedError, match="not possible to generate"):
        await alice.wait(ref.job_id)
    status, _, error = await row(database, ref.job_id)
    assert status is ImageJobStatus.REFUSED
    assert error is not None
    assert "terms of use" in error
    with pytest.raises(ImageRefusedError):  # told again from the store, not asked again
        await alice.wait(ref.job_id)
    assert fm.images_api_requests == 0


@pytest.fixture
async def restarts(database: Database, fm: FakeFoundationModels) -> AsyncIterator[list[object]]:
    """New processes' handles (database, client) on the same database file, closed at the end."""
    opened: list[object] = []
    yield opened
    for handle in opened:
        if isinstance(handle, FoundationModelsClient):
            await handle.aclose()
        elif isinstance(handle, Database):
            await handle.dispose()


async def _restart(database: Database, fm: FakeFoundationModels,
                   opened: list[object]) -> ImageService:
    """A new process: its own database handle, client and service."""
    db, client = Database(database.url), fake_client(fm.url)
    opened += [db, client]
    return service(db, client)


async def _cut_short(images: ImageService, fm: FakeFoundationModels, job_id: int) -> None:
    """The process stops while the request is in flight (the fake holds it)."""
    fm.images_api_held.clear()
    waiting = asyncio.create_task(images.wait(job_id))
    await fm.images_api_held.wait()
    waiting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiting


async def test_a_restart_mid_request_asks_again_once_and_delivers(
    alice: ImageService, fm: FakeFoundationModels, database: Database,
    restarts: list[object],
) -> None:
    fm.images_api_gate = asyncio.Event()
    ref = await alice.submit(7, 11, "a lighthouse at dusk", ImageOptions(aspect_ratio=(9, 16)))
    await _cut_short(alice, fm, ref.job_id)
    assert await row(database, ref.job_id) == (ImageJobStatus.RUNNING, 1, None)

    second = await _restart(database, fm, restarts)
    fm.images_api_gate.set()
    (resumed,) = await second.unfinished()
    assert resumed.job_id == ref.job_id
    assert resumed.options == ImageOptions(aspect_ratio=(9, 16))
    assert await second.wait(resumed.job_id) == fm.images_api_bytes
    await second.mark_delivered(resumed.job_id, 1)
    assert await second.unfinished() == []
    assert fm.images_api_requests == 2  # the cut request and the one asked again
    assert fm.images_api_sizes == ["9x16", "9x16"]
    async with database.sessionmaker() as session:
        drawn = await images_of(session, 11, dt.datetime.now(dt.UTC).date())
    assert drawn == 1  # one picture for the user, however many requests


async def test_a_request_cut_short_twice_is_not_asked_a_third_time(
    alice: ImageService, fm: FakeFoundationModels, database: Database,
    restarts: list[object],
) -> None:
    fm.images_api_gate = asyncio.Event()
    ref = await alice.submit(7, 11, "an unlucky picture")
    await _cut_short(alice, fm, ref.job_id)
    second = await _restart(database, fm, restarts)
    (resumed,) = await second.unfinished()
    await _cut_short(second, fm, resumed.job_id)
    assert fm.images_api_requests == 2

    third = await _restart(database, fm, restarts)
    fm.images_api_gate.set()
    (last,) = await third.unfinished()
    with pytest.raises(OperationFailedError, match="cut short by a restart"):
        await third.wait(last.job_id)
    assert fm.images_api_requests == 2
    assert (await row(database, ref.job_id))[:2] == (ImageJobStatus.FAILED, 2)
    assert await third.unfinished() == []
