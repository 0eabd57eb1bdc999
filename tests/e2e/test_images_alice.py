"""/image on Alice AI ART (the synchronous Images API), the bot as a process: the photo is the
bytes Yandex sent, and a bot killed while the request is in flight asks again once after its
restart and delivers one photo."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.testing.yandex import payloads as p
from bot.testing.yandex.images import IMAGES_PATH
from tests.e2e.harness import E2E

pytestmark = [pytest.mark.process, pytest.mark.timeout(180)]


@pytest.fixture
async def alice(tmp_path: Path) -> AsyncIterator[E2E]:
    async with E2E(tmp_path, extra_env={"IMAGE_MODEL": "aliceai-image-art-3.0"}) as setup:
        setup.fm.images_api_bytes = p.tiny_jpeg(200)  # not YandexART's picture
        yield setup


async def test_killed_mid_request_the_bot_asks_again_once_and_delivers_one_photo(
    alice: E2E,
) -> None:
    e2e = alice
    e2e.fm.images_api_gate = asyncio.Event()
    await e2e.start_bot()
    e2e.tg.send_user_message(1011, "/image 16:9 a lighthouse at night")
    await e2e.wait_for(lambda: e2e.fm.images_api_held.is_set(), 30)
    [job] = e2e.db.image_jobs()
    assert job["status"] == "running"
    assert job["requests"] == 1, "the request is counted before it is sent"
    await e2e.bot.kill()
    assert e2e.photos(1011) == []

    e2e.fm.images_api_gate.set()  # the next request is answered at once
    await e2e.start_bot()
    [photo] = await e2e.wait_for(lambda: e2e.photos(1011), 60)
    assert photo == e2e.fm.images_api_bytes  # exactly the bytes in data[0].b64_json
    await e2e.wait_for(lambda: [j["status"] for j in e2e.db.image_jobs()] == ["delivered"], 10)
    await asyncio.sleep(1.0)  # nothing is asked or delivered again
    assert len(e2e.photos(1011)) == 1
    sent = [r.json for r in e2e.fm.requests if r.path == IMAGES_PATH]
    assert len(sent) == 2, "asked once more after the restart, never a third time"
    assert {r["size"] for r in sent} == {"16x9"}
    assert not any(r.path.endswith("imageGenerationAsync") for r in e2e.fm.requests)
    assert await e2e.bot.terminate() == 0
    assert e2e.db.check_consistency() == []
