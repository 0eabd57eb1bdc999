"""/image through the real Dispatcher and the real image jobs against the fake YandexART."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiogram.methods import DeleteMessage, EditMessageText, SendChatAction, SendPhoto
from sqlalchemy import select

from bot.features.images.models import ImageJob, ImageJobStatus
from bot.foundation_models.types import ImageOptions
from bot.storage.database import Database
from tests.telegram.harness import ANNA, BORIS, Harness, running_app


@pytest.fixture
async def h(sqlite_database: Database) -> AsyncIterator[Harness]:
    async with running_app(sqlite_database) as harness:
        yield harness


async def jobs(h: Harness) -> list[ImageJob]:
    async with h.db.sessionmaker() as session:
        return list(await session.scalars(select(ImageJob).order_by(ImageJob.id)))


async def test_image_is_drawn_and_delivered(h: Harness) -> None:
    h.fm.image_pending_polls = 3
    await h.send("/image 16:9 seed=7 a lighthouse at dawn")
    await h.settle()
    photo = h.calls(SendPhoto)[-1]
    assert photo.caption == "a lighthouse at dawn"
    photos = [m.photo for m in h.telegram.chat(ANNA.id).bot_messages if m.photo is not None]
    assert photos[-1] == h.fm.image_bytes  # exactly the JPEG YandexART produced
    body = next(r.json for r in h.fm.requests if r.path.endswith("imageGenerationAsync"))
    assert body["generationOptions"]["aspectRatio"] == {"widthRatio": "16", "heightRatio": "9"}
    assert body["generationOptions"]["seed"] in ("7", 7)
    assert any(a.action == "upload_photo" for a in h.calls(SendChatAction))
    status_id = h.calls(DeleteMessage)[-1].message_id
    shown = [m.message_id for m in h.telegram.chat(ANNA.id).bot_messages]
    assert status_id not in shown  # the status message is gone
    [job] = await jobs(h)
    assert job.status is ImageJobStatus.DELIVERED
    assert job.operation_id


@pytest.mark.slow
async def test_status_message_shows_elapsed_time(h: Harness) -> None:
    h.fm.image_pending_polls = 15
    await h.send("/image a slow painting")
    await h.settle()
    edits = [e.text for e in h.calls(EditMessageText)]
    assert edits
    assert all(e.startswith("Drawing your picture…") for e in edits)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("command", "expected"),
    [
        ("/image", "Usage: /image <prompt>"),
        ("/image 16:9", "Usage: /image <prompt>"),
        ("/image 5:7 a cat", "Unsupported aspect ratio 5:7. Allowed: 1:1, 16:9"),
        ("/image " + "x" * 600, "The prompt is too long: 600 characters, at most 500"),
    ],
)
async def test_bad_image_requests_are_explained(h: Harness, command: str, expected: str) -> None:
    await h.send(command)
    await h.settle()
    assert h.texts(ANNA.id)[-1].startswith(expected)
    assert await jobs(h) == []
    assert h.model_requests() == []


async def test_refusal_is_explained_plainly(h: Harness) -> None:
    h.fm.refuse_images = True
    await h.send("/image something forbidden", who=BORIS)
    await h.settle()
    shown = h.texts(BORIS.id)
    assert len(shown) == 1
    assert shown[0].startswith("Не могу это нарисовать: сервис отклонил описание")
    [job] = await jobs(h)
    assert job.status is ImageJobStatus.REFUSED


@pytest.mark.slow
async def test_images_do_not_block_chat_answers(h: Harness) -> None:
    h.fm.image_pending_polls = 30
    await h.send("/image a very slow picture")
    await h.send("meanwhile, hello")
    await h.wait_until(lambda: "Echo: meanwhile, hello" in h.texts(ANNA.id))
    assert not h.calls(SendPhoto)
    await h.settle()
    assert h.calls(SendPhoto)


async def test_unfinished_jobs_resume_after_a_restart(sqlite_database: Database) -> None:
    async with running_app(sqlite_database) as h:
        h.fm.image_pending_polls = 2
        # What a killed process left: a job stored and submitted, never delivered.
        ref = await h.images.service.submit(
            ANNA.id, ANNA.id, "a resumed picture", ImageOptions(), status_message_id=None
        )
        await h.send("/start")  # Anna is known, with her language
        await h.images.resume()
        await h.settle()
        photo = h.calls(SendPhoto)[-1]
        assert photo.caption == "a resumed picture"
        assert photo.chat_id == ANNA.id
        [job] = await jobs(h)
        assert job.id == ref.job_id
        assert job.status is ImageJobStatus.DELIVERED
