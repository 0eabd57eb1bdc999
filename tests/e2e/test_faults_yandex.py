"""Fault suite, Yandex side: what the user sees and what is stored when Foundation Models
answers with errors, breaks a stream, stalls, refuses an image or expires the IAM token.

All scenarios share one bot (faults_world.py) and run at the same time, each in its own chat.
The client retries 429/5xx up to 3 attempts (Retry-After honoured up to 60 s), never once a
stream has yielded; the bot gives a stream up after 4 s of silence (YANDEX_IDLE_TIMEOUT).
"""

from __future__ import annotations

import pytest

from bot.testing.yandex.scripts import Reply
from tests.e2e.faults_table import scenario
from tests.e2e.faults_world import EN, HttpFault, Script, World, shared, template

pytestmark = [pytest.mark.asyncio(loop_scope="session"),
              pytest.mark.timeout(180)]

ANSWER = "Paris is the capital of France."
OK = [("user", "complete"), ("assistant", "complete")]
FAILED = [("user", "complete"), ("assistant", "failed")]
# Cumulative snapshots; faults come after the second one, so the user saw PARTIAL.
CHUNKS = ["Step one:", "Step one: mix the flour", "Step one: mix the flour and the water."]
PARTIAL = CHUNKS[1]


async def answered_after_retry(w: World, chat: int, errors: list[HttpFault]) -> None:
    """A transient error, retried by the client: the user just gets the answer."""
    attempts = len(errors) + 1
    tag = w.script(chat, Script(Reply(ANSWER, chunks=3), errors=errors))
    w.tg.send_user_message(chat, f"What is the capital of France? {tag}")
    await w.shows(chat, [ANSWER])
    rows = await w.stored(chat, OK)
    assert rows[1]["text"] == ANSWER
    assert w.served(chat) == attempts


async def told_after_retries(w: World, chat: int, errors: list[HttpFault], notice: str) -> None:
    """An error that outlasts the retries: one clear message, the turn stored as failed."""
    attempts = len(errors)
    tag = w.script(chat, Script(Reply(ANSWER), errors=errors))
    w.tg.send_user_message(chat, f"What is the capital of France? {tag}")
    await w.shows(chat, [EN[notice]])
    rows = await w.stored(chat, FAILED)
    assert rows[0]["text"].endswith(tag), "the question is kept"
    assert w.served(chat) == attempts, "no request beyond the retry budget"


@shared("Yandex 429 with Retry-After (once): retried, right answer")
async def test_yandex_429_with_retry_after(w: World) -> None:
    await answered_after_retry(w, 2101, [HttpFault(429, retry_after="1")])


@shared("Yandex 429 without Retry-After (once): backoff, right answer")
async def test_yandex_429_without_retry_after(w: World) -> None:
    await answered_after_retry(w, 2102, [HttpFault(429)])


@shared("Yandex 429 without Retry-After (persisting): quota message")
async def test_yandex_429_persisting(w: World) -> None:
    await told_after_retries(w, 2103, [HttpFault(429)] * 3, "error_quota")


@shared("Yandex 429 with Retry-After of an hour: not waited, quota message")
async def test_yandex_429_retry_after_too_long(w: World) -> None:
    await told_after_retries(w, 2104, [HttpFault(429, retry_after="3600")], "error_quota")


@shared("Yandex 500 (once): retried, right answer")
async def test_yandex_500_once(w: World) -> None:
    await answered_after_retry(w, 2105, [HttpFault(500)])


@shared("Yandex 500 (persisting): clear error message")
async def test_yandex_500_persisting(w: World) -> None:
    await told_after_retries(w, 2106, [HttpFault(500)] * 3, "error_generic")


@shared("Yandex 503 (once): retried, right answer")
async def test_yandex_503_once(w: World) -> None:
    await answered_after_retry(w, 2107, [HttpFault(503)])


@shared("Yandex 503 (persisting): overloaded message")
async def test_yandex_503_persisting(w: World) -> None:
    await told_after_retries(w, 2108, [HttpFault(503)] * 3, "error_quota")


async def broken_stream(w: World, chat: int, reply: Reply, notice: str) -> None:
    """The stream breaks after PARTIAL was shown: PARTIAL is kept (shown and stored as
    failed), a clear notice follows, and the stream is not retried."""
    tag = w.script(chat, Script(reply))
    w.tg.send_user_message(chat, f"How do I make bread? {tag}")
    await w.shows(chat, [PARTIAL, EN[notice]])
    rows = await w.stored(chat, FAILED)
    assert rows[1]["text"] == PARTIAL
    assert w.served(chat) == 1, "a stream that has yielded must not be retried"


@shared("Yandex stream with a malformed line: partial kept, error message")
async def test_yandex_malformed_line(w: World) -> None:
    reply = Reply(CHUNKS[-1], chunks=CHUNKS, interval=0.05, fault="malformed", fault_after=2)
    await broken_stream(w, 2109, reply, "error_generic")


@shared("Yandex stream cut after some chunks: partial kept, error message")
async def test_yandex_stream_cut(w: World) -> None:
    reply = Reply(CHUNKS[-1], chunks=CHUNKS, interval=0.05, fault="cut", fault_after=2)
    await broken_stream(w, 2110, reply, "error_generic")


@shared("Yandex connection dropped mid-stream: partial kept, error message")
async def test_yandex_connection_dropped(w: World) -> None:
    reply = Reply(CHUNKS[-1], chunks=CHUNKS, interval=0.05, fault="drop", fault_after=2)
    await broken_stream(w, 2111, reply, "error_generic")


@shared("Yandex stream stalls longer than the idle timeout: partial kept, timeout message")
async def test_yandex_stall(w: World) -> None:
    reply = Reply(CHUNKS[-1], chunks=CHUNKS, interval=0.05, fault="stall", fault_after=2,
                  stall=10.0)
    await broken_stream(w, 2112, reply, "error_timeout")


@shared("Yandex quota error line mid-stream: partial kept, quota message")
async def test_yandex_error_line(w: World) -> None:
    reply = Reply(CHUNKS[-1], chunks=CHUNKS, interval=0.05, fault="error_line", fault_after=2)
    await broken_stream(w, 2113, reply, "error_quota")


@shared("Yandex stream broken in a group: the edited partial stays, a notice follows")
async def test_yandex_broken_stream_in_a_group(w: World) -> None:
    chat = -2120
    reply = Reply(CHUNKS[-1], chunks=CHUNKS, interval=0.05, fault="malformed", fault_after=2)
    tag = w.script(chat, Script(reply))
    w.tg.send_user_message(
        chat, f"@fm_test_bot how do I make bread? {tag}", chat_type="supergroup",
        title="Bakers", user={"id": 2120, "first_name": "Baker"},
    )
    await w.shows(chat, [PARTIAL, EN["error_generic"]])
    await w.stored(chat, FAILED)


@shared("Yandex failing answer with a question queued behind it: the next one is answered")
async def test_yandex_failure_does_not_block_the_queue(w: World) -> None:
    chat = 2121
    tag = w.script(chat, Script(Reply(ANSWER), errors=[HttpFault(500)] * 3))
    w.tg.send_user_message(chat, f"First question {tag}")
    w.tg.send_user_message(chat, f"Second question {tag}")
    await w.shows(chat, [EN["error_generic"], ANSWER])
    await w.stored(chat, FAILED + OK)


@shared("Yandex content filter: the user is told, the text is withheld")
async def test_yandex_content_filter(w: World) -> None:
    chat = 2114
    tag = w.script(chat, Script(Reply("Withheld.", status="ALTERNATIVE_STATUS_CONTENT_FILTER")))
    w.tg.send_user_message(chat, f"Something risky {tag}")
    await w.shows(chat, [EN["error_refused"]])
    await w.stored(chat, FAILED)


@shared("Yandex IAM token expired mid-run: refreshed, right answer")
async def test_yandex_iam_token_expired(w: World) -> None:
    chat = 2115
    tag = w.script(chat, Script(Reply(ANSWER)))
    w.tg.send_user_message(chat, f"First question {tag}")
    await w.shows(chat, [ANSWER])
    exchanges = w.fm.auth.iam_exchanges
    assert exchanges >= 1
    assert w.fm.auth.jwt_errors == []
    w.fm.expire_tokens()
    w.tg.send_user_message(chat, f"Second question {tag}")
    await w.shows(chat, [ANSWER, ANSWER])
    await w.stored(chat, OK + OK)
    assert w.fm.auth.iam_exchanges > exchanges, "the expired token must be replaced"
    assert any("401, refreshing" in r["message"] for r in w.e2e.bot.log_records())


async def image_not_drawn(w: World, chat: int, kind: str, notice: str, status: str) -> None:
    tag = w.script(chat, Script(image=kind))
    w.tg.send_user_message(chat, f"/image a castle on a hill {tag}")
    pattern = template(notice)
    await w.until(
        f"the {notice} message in chat {chat}",
        lambda: [t for t in w.texts(chat) if pattern.fullmatch(t)],
    )
    # The status message ("Drawing your picture…") is removed; only the notice stays.
    await w.shows(chat, [t for t in w.texts(chat) if pattern.fullmatch(t)])
    assert len(w.texts(chat)) == 1
    assert w.e2e.photos(chat) == []
    await w.until(
        f"image job {status}",
        lambda: [j["status"] for j in w.e2e.db.image_jobs() if j["chat_id"] == chat] == [status],
        20,
    )
    assert w.served(chat) == 1, "a refused or failed image is not submitted again"


@shared("YandexART refuses the prompt at submit: plain explanation, job refused")
async def test_image_refused_at_submit(w: World) -> None:
    await image_not_drawn(w, 2116, "refuse", "image_refused", "refused")
    assert "terms of use" in w.texts(2116)[0]


@shared("YandexART refuses the prompt in the operation: plain explanation, job refused")
async def test_image_refused_in_operation(w: World) -> None:
    await image_not_drawn(w, 2117, "refuse_in_operation", "image_refused", "refused")
    assert "terms of use" in w.texts(2117)[0]


@shared("YandexART operation fails: clear message, job failed")
async def test_image_operation_fails(w: World) -> None:
    await image_not_drawn(w, 2118, "fail", "image_failed", "failed")


@shared("YandexART image, Telegram 429 on sendPhoto: waited out, delivered once, exactly")
async def test_image_delivered_despite_429(w: World) -> None:
    chat = 2119
    w.tg.fail_next("sendPhoto", 429, retry_after=1, chat_id=chat)
    tag = w.script(chat, Script())
    w.tg.send_user_message(chat, f"/image a quiet harbour {tag}")
    await w.until("the photo", lambda: w.e2e.photos(chat))
    await w.until("the status message removed", lambda: len(w.texts(chat)) == 1)
    assert w.e2e.photos(chat) == [w.fm.image_bytes]
    assert w.calls_429(chat) == 1
    w.settled[chat] = w.texts(chat)
    await w.until(
        "the job delivered",
        lambda: (
            [j["status"] for j in w.e2e.db.image_jobs() if j["chat_id"] == chat] == ["delivered"]
        ),
    )


@scenario("shared bot after the Yandex faults: alive, consistent, nothing answered twice")
async def test_shared_bot_after_yandex_faults(world: World) -> None:
    await world.quiet_check()
