"""Photos, albums and voice notes (issue 28): ``python -m bot run`` against the fake Bot API
serving getFile downloads of real JPEG and OGG/Opus files, and the fake Yandex servers (the
OpenAI-compatible route decodes the image parts; SpeechKit STT reads the OGG duration)."""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

import pytest
from PIL import Image, ImageChops, ImageDraw, ImageStat

from bot.testing.ogg_opus import ogg_opus
from bot.testing.telegram.state import ChatMessage
from tests.e2e.harness import E2E

pytestmark = [pytest.mark.process, pytest.mark.timeout(180)]
USER = 2801


RED = (200, 40, 40)


def screenshot(width: int, height: int, color: tuple[int, int, int] = RED) -> Image.Image:
    """A picture with structure (bands and a box), so a wrong or mangled image shows."""
    image = Image.new("RGB", (width, height), (245, 245, 245))
    draw = ImageDraw.Draw(image)
    for x in range(0, width, width // 8):
        draw.rectangle((x, 0, x + width // 16, height), fill=(30, 90, 200))
    draw.rectangle((width // 4, height // 3, width // 2, height // 2), fill=color)
    return image


def jpeg(image: Image.Image, quality: int = 90) -> bytes:
    out = io.BytesIO()
    image.save(out, "JPEG", quality=quality)
    return out.getvalue()


def difference(sent: Image.Image, received: Image.Image) -> float:
    """Mean absolute pixel difference (0-255) after scaling ``sent`` to ``received``'s size."""
    scaled = sent.resize(received.size, Image.Resampling.BILINEAR)
    return sum(ImageStat.Stat(ImageChops.difference(scaled, received)).mean) / 3


def answers(e2e: E2E, predicate: Callable[[str], bool]) -> Callable[[], list[ChatMessage]]:
    def found() -> list[ChatMessage]:
        chat = e2e.tg.chats.get(USER)
        return [] if chat is None else [m for m in chat.bot_messages if predicate(m.text or "")]

    return found


async def test_a_photo_with_a_caption_is_answered_and_a_follow_up_sees_it_again(
    e2e: E2E,
) -> None:
    await e2e.start_bot()
    original = screenshot(2400, 1800)
    small, large = jpeg(original.resize((320, 240))), jpeg(original)
    e2e.tg.send_user_photo_message(USER, [small, large], "What does this error mean?")
    [first] = await e2e.wait_for(answers(e2e, lambda t: t.startswith("Echo:")), 60)
    assert "What does this error mean?" in (first.text or "")
    # The largest size, decoded at half scale (1200 px still covers the model's 896).
    assert "[image 1200x900]" in (first.text or ""), "not the largest size, or not re-encoded"
    [[seen]] = e2e.fm.images_received
    assert seen.size == (1200, 900)
    assert difference(original, seen) < 6, "the model got other pixels than the photo's"
    assert difference(screenshot(2400, 1800, (40, 200, 40)), seen) > difference(original, seen)

    e2e.tg.send_user_message(USER, "and what is the error code?")
    follow = answers(e2e, lambda t: "error code" in t)
    [second] = await e2e.wait_for(follow, 60)
    assert "[image 1200x900]" in (second.text or ""), "the follow-up did not see the image"
    assert len(e2e.fm.images_received) == 2
    assert difference(original, e2e.fm.images_received[1][0]) < 6
    chat_paths = [r.path for r in e2e.fm.requests if r.path == "/v1/chat/completions"]
    assert len(chat_paths) == 2
    assert await e2e.bot.terminate() == 0
    images = e2e.db.query("SELECT file_id, width, height, token_count FROM message_images")
    assert [(r["width"], r["height"], r["token_count"]) for r in images] == [(1200, 900, 256)]
    [usage] = e2e.db.query("SELECT photos, speech_seconds FROM daily_usage")
    assert (usage["photos"], usage["speech_seconds"]) == (1, 0), "the daily usage counts photos"
    assert e2e.db.check_consistency() == []


async def test_an_album_is_one_question(e2e: E2E) -> None:
    await e2e.start_bot()
    colors = [(200, 40, 40), (40, 200, 40), (40, 40, 200)]
    for index, color in enumerate(colors):
        e2e.tg.send_user_photo_message(
            USER, [jpeg(screenshot(800, 600, color))],
            "Which of these is broken?" if index == 0 else "", media_group_id="album-1",
        )
    [answer] = await e2e.wait_for(answers(e2e, lambda t: t.startswith("Echo:")), 60)
    assert "Which of these is broken?" in (answer.text or "")
    assert (answer.text or "").count("image 800x600") == 3
    [received] = e2e.fm.images_received
    for color, image in zip(colors, received, strict=True):
        assert difference(screenshot(800, 600, color), image) < 6, "album order or pixels"
    assert await e2e.bot.terminate() == 0
    assert e2e.roles(USER) == [("user", "complete"), ("assistant", "complete")]
    assert e2e.db.check_consistency() == []


async def test_a_voice_note_is_transcribed_shown_and_answered(e2e: E2E) -> None:
    await e2e.start_bot()
    e2e.fm.queue_transcript("how do I reset my password")
    e2e.tg.send_user_voice(USER, ogg_opus(5), duration=5, language_code="en")
    [answer] = await e2e.wait_for(answers(e2e, lambda t: t.startswith("Echo:")), 60)
    assert "how do I reset my password" in (answer.text or "")
    chat = e2e.tg.chat(USER)
    quote = chat.bot_messages[0]
    assert quote.text == "🎤 how do I reset my password"
    assert [e["type"] for e in quote.entities] == ["blockquote"]
    assert quote.message_id < answer.message_id
    [request] = e2e.fm.stt_requests
    assert (request.lang, request.format, request.seconds) == ("en-US", "oggopus", 5.0)
    assert await e2e.bot.terminate() == 0
    rows = e2e.db.messages(USER)
    assert rows[0]["text"] == "how do I reset my password", "the transcript is the question"
    [usage] = e2e.db.query("SELECT speech_seconds FROM daily_usage")
    assert usage["speech_seconds"] == 5, "the daily usage counts recognised seconds"


async def test_an_oversized_image_and_a_6_minute_voice_note_are_refused_clearly(
    e2e: E2E,
) -> None:
    await e2e.start_bot()
    big = b"\xff\xd8" + b"\0" * (11 * 1024 * 1024)
    e2e.tg.send_user_document(USER, big, file_name="scan.jpg", mime_type="image/jpeg")
    [refusal] = await e2e.wait_for(answers(e2e, lambda t: "too big" in t), 30)
    assert "10 MB" in (refusal.text or "")
    e2e.tg.send_user_voice(USER, ogg_opus(360), duration=360)  # over MAX_VOICE_SECONDS (300)
    [too_long] = await e2e.wait_for(answers(e2e, lambda t: "up to 300 s" in t), 30)
    assert "360 s" in (too_long.text or "")
    e2e.tg.send_user_document(
        USER, b"\xff\xd8not really a jpeg", file_name="x.jpg", mime_type="image/jpeg"
    )
    await e2e.wait_for(answers(e2e, lambda t: "could not read this image" in t), 30)
    e2e.tg.send_user_audio(USER, b"ID3" + b"\0" * 5000, duration=20, mime_type="audio/mpeg",
                           file_name="note.mp3")
    await e2e.wait_for(answers(e2e, lambda t: "this kind of file" in t), 30)
    e2e.tg.send_user_message(USER, "still there?")  # nothing else is lost
    await e2e.wait_for(answers(e2e, lambda t: t == "Echo: still there?"), 30)
    assert len(e2e.tg.downloads) == 1, "the big file and the long voice were not downloaded"
    assert e2e.fm.stt_requests == []
    assert e2e.fm.stt_async_requests == []
    assert e2e.fm.images_received == []
    assert await e2e.bot.terminate() == 0
    assert e2e.roles(USER) == [("user", "complete"), ("assistant", "complete")]


async def test_a_failing_vision_model_gets_a_localized_reply_not_a_trace(e2e: E2E) -> None:
    await e2e.start_bot()
    e2e.fm.fail_next(500, path="/v1/chat/completions", times=3)  # every retry of one turn
    e2e.tg.send_user_photo_message(
        USER, [jpeg(screenshot(640, 480))], "что здесь?", language_code="ru"
    )
    [reply] = await e2e.wait_for(answers(e2e, lambda t: "что-то пошло не так" in t), 60)
    assert "Traceback" not in (reply.text or "")
    e2e.tg.send_user_message(USER, "а так?", language_code="ru")
    # The follow-up still sees the photo (the vision model is back).
    [again] = await e2e.wait_for(answers(e2e, lambda t: t.startswith("Echo: ")), 30)
    assert "а так?" in (again.text or "")
    assert "[image 640x480]" in (again.text or "")
    assert await e2e.bot.terminate() == 0


async def test_an_album_addressed_in_a_group_by_its_caption_is_one_question(e2e: E2E) -> None:
    await e2e.start_bot()
    group: dict[str, Any] = {"chat_type": "supergroup", "title": "Team", "user": {"id": 7}}
    for index, color in enumerate([RED, (40, 200, 40)]):
        caption = "@fm_test_bot which one is broken?" if index == 0 else ""
        e2e.tg.send_user_photo_message(
            -2802, [jpeg(screenshot(800, 600, color))], caption, media_group_id="g-2",
            extra={"caption_entities": [{"type": "mention", "offset": 0, "length": 12}]}
            if caption else None, **group,
        )
    chat = await e2e.wait_for(lambda: e2e.tg.chats.get(-2802))
    [answer] = await e2e.wait_for(
        lambda: [m for m in chat.bot_messages if "image 800x600]" in (m.text or "")], 60
    )  # the final text (a group's answer is one message edited as it streams)
    assert "which one is broken?" in (answer.text or "")
    assert "@fm_test_bot" not in (answer.text or "")
    assert (answer.text or "").count("image 800x600") == 2
    assert len(e2e.fm.images_received) == 1


async def test_a_missing_speechkit_role_is_told_to_the_user_and_logged_once(e2e: E2E) -> None:
    await e2e.start_bot()
    e2e.fm.stt_forbidden = True  # the service account lacks ai.speechkit-stt.user: 403
    e2e.tg.send_user_voice(USER, ogg_opus(3), duration=3)
    await e2e.wait_for(answers(e2e, lambda t: "not available right now" in t), 30)
    assert await e2e.bot.terminate() == 0
    naming = [r for r in e2e.bot.log_records() if "ai.speechkit-stt.user" in r.get("message", "")]
    assert len(naming) == 1
    assert naming[0]["level"] == "ERROR"
    assert "Traceback" not in e2e.bot.log_path.read_text()
    assert e2e.roles(USER) == [], "nothing was asked, nothing stored"
