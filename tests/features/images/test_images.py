"""Durable image jobs on a migrated database, with the real client and the fake YandexART."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest

from bot.features.images.models import ImageJobStatus
from bot.features.images.repository import ImageJobRepository
from bot.features.images.service import ImageService
from bot.features.images.usage import images_of
from bot.foundation_models.auth import ApiKeyAuth
from bot.foundation_models.client import FoundationModelsClient
from bot.foundation_models.errors import (
    ImageRefusedError,
    InvalidRequestError,
    OperationFailedError,
)
from bot.foundation_models.types import ImageOptions, PollPolicy
from bot.storage.database import Database
from tests.conversation.conftest import API_KEY, FAST_POLL, FOLDER
from tests.fakes.yandex.server import FakeFoundationModels

SUBMIT = "/foundationModels/v1/imageGenerationAsync"


def polls(fm: FakeFoundationModels) -> int:
    return sum(1 for r in fm.requests if r.path.startswith("/operations/"))


async def job_row(db: Database, job_id: int) -> tuple[ImageJobStatus, str | None, str | None]:
    async with db.sessionmaker() as session:
        job = await ImageJobRepository(session).get(job_id)
        assert job is not None
        return job.status, job.operation_id, job.error


async def test_submit_stores_operation_id_before_polling_then_wait_returns_the_jpeg(
    images: ImageService, fm: FakeFoundationModels, database: Database
) -> None:
    ref = await images.submit(
        7, 11, "  a red fox in the snow  ", ImageOptions(aspect_ratio=(16, 9), seed=42)
    )
    assert ref.prompt == "a red fox in the snow"
    assert ref.status is ImageJobStatus.RUNNING
    assert ref.operation_id is not None
    # Stored and committed before any poll: a restart from here can resume.
    assert polls(fm) == 0
    assert await job_row(database, ref.job_id) == (ImageJobStatus.RUNNING, ref.operation_id, None)
    submitted = next(r.json for r in fm.requests if r.path == SUBMIT)
    assert submitted["generationOptions"]["aspectRatio"] == {
        "widthRatio": "16",
        "heightRatio": "9",
    }

    image = await images.wait(ref.job_id)
    assert image == fm.image_bytes
    assert image.startswith(b"\xff\xd8\xff")
    assert polls(fm) >= 2

    await images.mark_delivered(ref.job_id, 9001)
    assert (await job_row(database, ref.job_id))[0] is ImageJobStatus.DELIVERED
    assert await images.unfinished() == []
    async with database.sessionmaker() as session:
        drawn = await images_of(session, 11, dt.datetime.now(dt.UTC).date())
    assert drawn == 1


@pytest.mark.parametrize(
    ("prompt", "message"),
    [("", "empty"), ("   \n", "empty"), ("x" * 501, "at most 500")],
)
async def test_invalid_prompts_are_refused_before_anything_is_stored(
    images: ImageService, fm: FakeFoundationModels, prompt: str, message: str
) -> None:
    with pytest.raises(InvalidRequestError, match=message):
        await images.submit(7, 11, prompt)
    assert await images.unfinished() == []
    assert not fm.paths()


async def test_five_hundred_characters_are_fine(images: ImageService) -> None:
    ref = await images.submit(7, 11, "я" * 500)
    assert ref.status is ImageJobStatus.RUNNING


async def test_refusal_at_submit_is_stored_with_the_reason(
    images: ImageService, fm: FakeFoundationModels, database: Database
) -> None:
    fm.refuse_images = True
    with pytest.raises(ImageRefusedError) as refused:
        await images.submit(7, 11, "something forbidden")
    jobs = await _all_jobs(database)
    assert len(jobs) == 1
    status, operation_id, error = await job_row(database, jobs[0])
    assert status is ImageJobStatus.REFUSED
    assert operation_id is None
    assert error == refused.value.reason


async def test_refusal_in_the_operation_is_stored_and_raised_again(
    images: ImageService, fm: FakeFoundationModels, database: Database
) -> None:
    fm.refuse_images_in_operation = True
    ref = await images.submit(7, 11, "something forbidden")
    with pytest.raises(ImageRefusedError):
        await images.wait(ref.job_id)
    status, _, error = await job_row(database, ref.job_id)
    assert status is ImageJobStatus.REFUSED
    assert error
    before = polls(fm)
    with pytest.raises(ImageRefusedError, match=error):
        await images.wait(ref.job_id)  # from the stored status, without polling again
    assert polls(fm) == before


async def test_failure_at_submit_marks_the_job_failed(
    images: ImageService, fm: FakeFoundationModels, database: Database
) -> None:
    fm.fail_next(503, path="imageGenerationAsync", times=10)
    with pytest.raises(Exception, match="503"):
        await images.submit(7, 11, "a cat")
    (job_id,) = await _all_jobs(database)
    assert (await job_row(database, job_id))[0] is ImageJobStatus.FAILED
    with pytest.raises(OperationFailedError):
        await images.wait(job_id)


async def test_resume_after_restart(
    database: Database, client: FoundationModelsClient, fm: FakeFoundationModels
) -> None:
    fm.image_pending_polls = 1_000
    first = ImageService(
        sessionmaker=database.sessionmaker,
        model=client,
        image_model="yandex-art",
        policy=FAST_POLL,
    )
    ref = await first.submit(7, 11, "a lighthouse at dusk")
    waiting = asyncio.create_task(first.wait(ref.job_id))
    await asyncio.sleep(0.1)
    waiting.cancel()  # the process stops mid-poll
    with pytest.raises(asyncio.CancelledError):
        await waiting
    assert (await job_row(database, ref.job_id))[0] is ImageJobStatus.RUNNING

    # A new process: new database handle, new client, new service on the same database.
    fm.image_pending_polls = 0
    fm.operations[ref.operation_id or ""]["polls_left"] = 1
    db2 = Database(database.url)
    client2 = FoundationModelsClient(
        folder_id=FOLDER, auth=ApiKeyAuth(API_KEY), llm_url=fm.url, operation_url=fm.url
    )
    try:
        second = ImageService(
            sessionmaker=db2.sessionmaker,
            model=client2,
            image_model="yandex-art",
            policy=FAST_POLL,
        )
        (resumed,) = await second.unfinished()
        assert resumed.job_id == ref.job_id
        assert resumed.operation_id == ref.operation_id
        assert resumed.options == ImageOptions()
        assert await second.wait(resumed.job_id) == fm.image_bytes
        await second.mark_delivered(resumed.job_id, 1)
        assert await second.unfinished() == []
    finally:
        await client2.aclose()
        await db2.dispose()
    assert sum(1 for r in fm.requests if r.path == SUBMIT) == 1  # never submitted twice


async def test_job_interrupted_before_submit_is_submitted_on_resume(
    images: ImageService, fm: FakeFoundationModels, database: Database
) -> None:
    async with database.sessionmaker() as session:
        job = await ImageJobRepository(session).create(
            7, 11, "a boat", {"aspect_ratio": [2, 1], "seed": 5, "mime_type": "image/jpeg"}
        )
        await session.commit()
    (resumed,) = await images.unfinished()
    assert resumed.job_id == job.id
    assert resumed.status is ImageJobStatus.RUNNING
    assert resumed.operation_id is not None
    assert resumed.options == ImageOptions(aspect_ratio=(2, 1), seed=5)
    submitted = next(r.json for r in fm.requests if r.path == SUBMIT)
    assert submitted["generationOptions"]["seed"] == "5"
    assert await images.wait(job.id) == fm.image_bytes


async def test_refused_resubmission_is_returned_for_the_user_to_hear(
    images: ImageService, fm: FakeFoundationModels, database: Database
) -> None:
    async with database.sessionmaker() as session:
        job = await ImageJobRepository(session).create(7, 11, "something forbidden")
        await session.commit()
    fm.refuse_images = True
    (resumed,) = await images.unfinished()
    assert resumed.status is ImageJobStatus.REFUSED
    with pytest.raises(ImageRefusedError):
        await images.wait(job.id)


async def test_cancel(images: ImageService, fm: FakeFoundationModels, database: Database) -> None:
    fm.image_pending_polls = 1_000
    ref = await images.submit(7, 11, "a slow picture")
    await images.cancel(ref.job_id)
    assert (await job_row(database, ref.job_id))[0] is ImageJobStatus.CANCELLED
    assert await images.unfinished() == []


@pytest.mark.slow
async def test_jobs_run_concurrently(
    database: Database, client: FoundationModelsClient, fm: FakeFoundationModels
) -> None:
    policy = PollPolicy(initial=0.1, multiplier=1.0, max_interval=0.1, deadline=30.0)
    images = ImageService(
        sessionmaker=database.sessionmaker, model=client, image_model="yandex-art", policy=policy
    )
    one = await _made(images, "one picture")
    # Eight at once: no operation is done before the eighth was started, so jobs run one
    # after another would never finish (the first waits for the last); an order, not a time.
    fm.image_gate = fm.images_started + 8
    results = await asyncio.gather(*(_made(images, f"picture {n}") for n in range(8)))
    assert one == fm.image_bytes
    assert all(image == fm.image_bytes for image in results)
    async with database.sessionmaker() as session:
        drawn = await images_of(session, 11, dt.datetime.now(dt.UTC).date())
    assert drawn == 9


async def _made(images: ImageService, prompt: str) -> bytes:
    ref = await images.submit(7, 11, prompt)
    return await images.wait(ref.job_id)


async def _all_jobs(db: Database) -> list[int]:
    async with db.sessionmaker() as session:
        jobs = await ImageJobRepository(session).for_user(11)
    return sorted(job.id for job in jobs)
