"""Photos and albums, in process: the largest size re-encoded for the vision model (which sees
the photo's pixels, again in a follow-up), an album as one question (also addressed in a group
by its caption), files refused before they are downloaded, and a failing vision model answered
with a localized notice. Was tests/e2e/test_media.py, with the bot as a process."""

from __future__ import annotations

import asyncio

import pytest
from aiogram.types import Chat, MessageEntity

from bot import App
from bot.telegram.media.albums import WINDOW
from bot.testing import BotTester, ServiceModel
from bot.testing.ogg_opus import ogg_opus
from tests.features.sending import (
    album,
    album_parts,
    audio_file,
    difference,
    document,
    jpeg,
    photo,
    rows,
    screenshot,
    shown,
    voice,
)

pytestmark = [pytest.mark.timeout(60)]
RED = (200, 40, 40)
CHAT = "/v1/chat/completions"


async def test_a_photo_with_a_caption_is_answered_and_a_follow_up_sees_it_again() -> None:
    model = ServiceModel()
    async with BotTester(App(env_file=None), model=model) as tester:
        anna = tester.user("Anna")
        original = screenshot(2400, 1800)
        small, large = jpeg(original.resize((320, 240))), jpeg(original)
        first = await photo(tester, anna, [small, large], "What does this error mean?")
        assert first.text.startswith("Echo:")
        assert "What does this error mean?" in first.text
        # The largest size, decoded at half scale (1200 px still covers the model's 896).
        assert "[image 1200x900]" in first.text, "not the largest size, or not re-encoded"
        [[seen]] = model.service.images_received
        assert seen.size == (1200, 900)
        assert difference(original, seen) < 6, "the model got other pixels than the photo's"
        assert difference(screenshot(2400, 1800, (40, 200, 40)), seen) > \
            difference(original, seen)

        second = await anna.says("and what is the error code?")
        assert "error code" in second.text
        assert "[image 1200x900]" in second.text, "the follow-up did not see the image"
        assert len(model.service.images_received) == 2
        assert difference(original, model.service.images_received[1][0]) < 6
        assert [r.path for r in model.service.requests].count(CHAT) == 2
        images = await rows(tester, "SELECT width, height, token_count FROM message_images")
        assert [(r["width"], r["height"], r["token_count"]) for r in images] == \
            [(1200, 900, 256)]
        counted = await rows(tester, "SELECT kind, amount FROM daily_counts")
        assert [(c["kind"], c["amount"]) for c in counted] == [("photos", 1)], "photos are counted"


async def test_an_album_is_one_question() -> None:
    model = ServiceModel()
    async with BotTester(App(env_file=None), model=model) as tester:
        anna = tester.user("Anna")
        colors = [(200, 40, 40), (40, 200, 40), (40, 40, 200)]
        reply = await album(tester, anna, [jpeg(screenshot(800, 600, c)) for c in colors],
                            "Which of these is broken?", "album-1")
        [answer] = [m for m in shown(tester, anna.id) if m.text.startswith("Echo:")]
        assert answer.text == reply.text
        assert "Which of these is broken?" in answer.text
        assert answer.text.count("image 800x600") == 3
        [received] = model.service.images_received
        for color, image in zip(colors, received, strict=True):
            assert difference(screenshot(800, 600, color), image) < 6, "album order or pixels"
        stored = await rows(tester, "SELECT role, status FROM messages ORDER BY id")
        assert [(r["role"], r["status"]) for r in stored] == \
            [("user", "complete"), ("assistant", "complete")]


async def test_an_album_stays_one_question_when_the_bot_reaches_its_last_part_late() -> None:
    # The parts arrive together, and the bot gets to the last one only after the album's
    # window has passed (a busy database, a starved process): still one question.
    model = ServiceModel()
    async with BotTester(App(env_file=None), model=model) as tester:
        anna = tester.user("Anna")
        colors = [(200, 40, 40), (40, 200, 40), (40, 40, 200)]
        parts = album_parts(tester, anna, [jpeg(screenshot(800, 600, c)) for c in colors],
                            "Which of these is broken?", "album-late")
        telegram = tester.built.telegram
        assert await telegram.receive(parts) == 3
        for part in parts[:-1]:
            await telegram.handle(part)
        await asyncio.sleep(WINDOW * 1.5)  # the album's job looks meanwhile: a part is coming
        await telegram.handle(parts[-1])
        await tester.settle()
        [answer] = [m for m in shown(tester, anna.id) if m.text.startswith("Echo:")]
        assert answer.text.count("image 800x600") == 3
        assert len(model.service.images_received) == 1
        stored = await rows(tester, "SELECT role FROM messages ORDER BY id")
        assert [r["role"] for r in stored] == ["user", "assistant"]
        queued = await rows(
            tester, "SELECT count(*) AS n FROM processed_updates WHERE payload IS NOT NULL")
        assert queued == [{"n": 0}], "every part left the durable queue with the question"


@pytest.mark.slow
async def test_an_album_addressed_in_a_group_by_its_caption_is_one_question() -> None:
    model = ServiceModel()
    async with BotTester(App(env_file=None), model=model) as tester:
        bob = tester.user("Bob")
        team = Chat(id=-2802, type="supergroup", title="Team")
        caption = "@fmbot_test_bot which one is broken?"
        await album(tester, bob, [jpeg(screenshot(800, 600, c)) for c in (RED, (40, 200, 40))],
                    caption, "g-2", chat=team,
                    entities=[MessageEntity(type="mention", offset=0, length=15)])
        [answer] = [m for m in shown(tester, team.id) if "image 800x600]" in m.text]
        assert "which one is broken?" in answer.text
        assert "@fmbot_test_bot" not in answer.text
        assert answer.text.count("image 800x600") == 2
        assert len(model.service.images_received) == 1


async def test_an_oversized_image_and_a_6_minute_voice_note_are_refused_clearly() -> None:
    model = ServiceModel()
    async with BotTester(App(env_file=None), model=model) as tester:
        anna = tester.user("Anna")
        big = b"\xff\xd8" + b"\0" * (11 * 1024 * 1024)
        refusal = await document(tester, anna, big, "scan.jpg", "image/jpeg")
        assert "too big" in refusal.text
        assert "10 MB" in refusal.text
        too_long = await voice(tester, anna, ogg_opus(360), 360)  # over MAX_VOICE_SECONDS
        assert "up to 300 s" in too_long.text
        assert "360 s" in too_long.text
        unreadable = await document(tester, anna, b"\xff\xd8not really a jpeg", "x.jpg",
                                    "image/jpeg")
        assert "could not read this image" in unreadable.text
        mp3 = await audio_file(tester, anna, b"ID3" + b"\0" * 5000, 20, "audio/mpeg",
                               "note.mp3")
        assert "this kind of file" in mp3.text
        still = await anna.says("still there?")  # nothing else is lost
        assert still.text == "Echo: still there?"
        downloads = [c for c in tester.sent if c.method == "getFile"]
        assert len(downloads) == 1, "the big file and the long voice were not downloaded"
        assert model.service.stt_requests == []
        assert model.service.stt_async_requests == []
        assert model.service.images_received == []
        stored = await rows(tester, "SELECT role, status FROM messages ORDER BY id")
        assert [(r["role"], r["status"]) for r in stored] == \
            [("user", "complete"), ("assistant", "complete")]


async def test_a_failing_vision_model_gets_a_localized_reply_not_a_trace() -> None:
    model = ServiceModel()
    async with BotTester(App(env_file=None), model=model) as tester:
        ivan = tester.user("Ivan", language="ru")
        model.service.fail_next(500, path=CHAT, times=3)  # every retry of one turn
        reply = await photo(tester, ivan, [jpeg(screenshot(640, 480))], "что здесь?")
        assert "что-то пошло не так" in reply.text
        assert "Traceback" not in reply.text
        # The follow-up still sees the photo (the vision model is back).
        again = await ivan.says("а так?")
        assert again.text.startswith("Echo: ")
        assert "а так?" in again.text
        assert "[image 640x480]" in again.text
