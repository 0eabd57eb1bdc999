"""The Telegram layer's small parts: texts, image arguments, rate limit, per-chat FIFO."""

from __future__ import annotations

import asyncio
import string

import pytest
from aiogram.types import User

from bot.features.images.args import ImageArgsError, parse_image_args
from bot.storage.models import User as StoredUser
from bot.storage.models import UserRole
from bot.telegram.access import AccessPolicy
from bot.telegram.chatqueue import ChatQueues
from bot.telegram.middlewares import RecentlySeen
from bot.telegram.pastes import PasteJoiner
from bot.telegram.ratelimit import RateLimiter
from bot.telegram.texts import COMMANDS, LANGUAGES, TEXTS, Translator, pick_language
from tests.telegram.alltexts import every_text


def test_every_text_exists_in_every_language_with_the_same_fields() -> None:
    fields = string.Formatter()
    texts = every_text()
    # The features' texts are there too (knowledge, images, tools, voice, ...).
    assert {"kb_status", "image_usage", "toolcalls_header", "stats_web"} <= set(texts)
    for key, variants in {**texts, **COMMANDS}.items():
        assert set(variants) == set(LANGUAGES), key
        # "{tokens|токен|токена|токенов}": a plural form of `tokens` (bot/plurals.py).
        names = [{f.split("|")[0] for _, f, _, _ in fields.parse(v) if f}
                 for v in variants.values()]
        assert all(n == names[0] for n in names), key


@pytest.mark.parametrize(
    ("code", "language"),
    [("ru", "ru"), ("ru-RU", "ru"), ("RU", "ru"), ("en-GB", "en"), ("de", "en"), (None, "en")],
)
def test_language_follows_language_code(code: str | None, language: str) -> None:
    assert pick_language(code) == language
    assert Translator.for_code(code)("stop_done") == TEXTS["stop_done"][language]


def test_image_arguments() -> None:
    request = parse_image_args("16:9 seed=42 a lighthouse\nat dawn")
    assert request.prompt == "a lighthouse\nat dawn"
    assert request.options.aspect_ratio == (16, 9)
    assert request.options.seed == 42
    assert parse_image_args("a cat seed=7").options.seed == 7
    assert parse_image_args("16 cats").options.aspect_ratio == (1, 1)


@pytest.mark.parametrize(
    ("args", "key"),
    [
        ("", "image_usage"),
        ("16:9", "image_usage"),
        ("seed=3", "image_usage"),
        ("5:7 a cat", "image_bad_ratio"),
        ("seed=-1 a cat", "image_bad_seed"),
        ("seed=x a cat", "image_bad_seed"),
        ("x" * 501, "image_too_long"),
    ],
)
def test_image_argument_errors_name_the_problem(args: str, key: str) -> None:
    with pytest.raises(ImageArgsError) as caught:
        parse_image_args(args)
    assert caught.value.key == key
    text = caught.value.explain(Translator("en"))
    assert "{" not in text
    if key == "image_bad_ratio":
        assert "16:9" in text
        assert "5:7" in text
    if key == "image_too_long":
        assert "501" in text
        assert "500" in text


def test_rate_limiter_window_and_single_notice() -> None:
    now = [0.0]
    limiter = RateLimiter(2, window=60, clock=lambda: now[0])
    assert limiter.hit(1) == 0
    assert limiter.hit(1) == 0
    assert limiter.hit(1) == pytest.approx(60)
    assert limiter.first_refusal(1)
    assert not limiter.first_refusal(1)
    assert limiter.hit(2) == 0  # other users are not affected
    now[0] = 61
    assert limiter.hit(1) == 0
    assert limiter.first_refusal(1)  # a new run of refusals is told again
    assert RateLimiter(0).hit(1) == 0


def test_access_policy() -> None:
    open_policy = AccessPolicy.build()
    assert open_policy.admits(5, 5)
    policy = AccessPolicy.build(users=[1], chats=[-100], admins=[9])
    assert policy.admits(1, 1)
    assert policy.admits(1, -200)
    assert policy.admits(2, -100)  # anyone in an allowed group
    assert policy.admits(9, 9)  # admins always
    assert not policy.admits(2, 2)
    assert not policy.admits(2, -200)


async def test_chat_queue_runs_jobs_in_ticket_order() -> None:
    queues = ChatQueues()
    done: list[str] = []
    first, second, third = queues.take(1), queues.take(1), queues.take(1)

    def job(name: str) -> object:
        async def run() -> None:
            await asyncio.sleep(0.01)
            done.append(name)

        return run

    # Resolved out of order (as racing middlewares would), run in order of taking.
    third.submit(job("c"))  # type: ignore[arg-type]
    second.release()
    first.submit(job("a"))  # type: ignore[arg-type]
    await queues.wait_idle()
    assert done == ["a", "c"]


async def test_chat_queue_stop_cancels_only_the_running_job() -> None:
    queues = ChatQueues()
    started = asyncio.Event()
    log: list[str] = []

    async def slow() -> None:
        started.set()
        try:
            await asyncio.sleep(10)
        except asyncio.CancelledError:
            log.append("cancelled")
            raise

    async def quick() -> None:
        log.append("next ran")

    queues.take(7).submit(slow)
    queues.take(7).submit(quick)
    await started.wait()
    assert queues.is_busy(7)
    assert queues.stop(7)
    await queues.wait_idle()
    assert log == ["cancelled", "next ran"]
    assert not queues.stop(7)


async def test_drain_cancels_what_outlives_the_grace() -> None:
    queues = ChatQueues()
    finalised = asyncio.Event()

    async def endless() -> None:
        try:
            await asyncio.sleep(10)
        except asyncio.CancelledError:
            finalised.set()
            raise

    queues.take(1).submit(endless)
    await asyncio.sleep(0)
    await queues.drain(grace=0.05, settle=1)
    assert finalised.is_set()


async def test_abandon_all_cancels_running_jobs_and_runs_nothing_queued_after() -> None:
    """The poller's lease lost: the running answers are cut short (and may finalise), queued
    and still-unresolved tickets never run nor settle; the queues serve a next term."""
    queues = ChatQueues()
    log: list[str] = []
    started = asyncio.Event()

    async def endless() -> None:
        started.set()
        try:
            await asyncio.sleep(10)
        except asyncio.CancelledError:
            log.append("finalised")
            raise

    async def job(name: str) -> None:
        log.append(name)

    async def settled() -> None:
        log.append("settled")

    queues.take(1).submit(endless)
    queued = queues.take(1)
    queued.on_done = settled
    queued.submit(lambda: job("queued"))
    late = queues.take(2)  # its update still in the middlewares
    late.on_done = settled
    await started.wait()
    await queues.abandon_all(settle=1)
    late.submit(lambda: job("late"))  # no "ticket already used": dropped
    await queues.wait_idle()
    assert log == ["finalised"]
    queues.take(1).submit(lambda: job("next term"))
    await queues.wait_idle()
    assert log == ["finalised", "next term"]


async def test_paste_joiner_joins_only_quick_parts_of_long_text() -> None:
    now = [0.0]
    joiner = PasteJoiner(window=1.0, part_min=10, clock=lambda: now[0])
    short = joiner.offer(1, 5, "short")
    assert short is not None
    assert short.closed  # a short message never waits
    first = joiner.offer(1, 5, "x" * 12)
    assert first is not None
    assert not first.closed
    now[0] = 0.5
    assert joiner.offer(1, 6, "another user") is not None  # other users are not joined
    assert joiner.offer(1, 5, "y" * 12) is None
    now[0] = 2.0  # the window passed: the next message is a question of its own
    later = joiner.offer(1, 5, "z" * 12)
    assert later is not None
    assert await joiner.complete(1, 5, first) == "x" * 12 + "\n" + "y" * 12


def test_recently_seen_users_skip_upserts_until_something_changes() -> None:
    now = [0.0]
    seen = RecentlySeen(ttl=30, clock=lambda: now[0])
    anna = User(id=1, is_bot=False, first_name="Anna", language_code="en")
    assert seen.user(anna) is None
    seen.remember_user(anna, StoredUser(id=1, blocked=False, role=UserRole.ADMIN, language="en"))
    known = seen.user(anna)
    assert known is not None
    assert known.admin
    assert seen.user(anna.model_copy(update={"first_name": "Ann"})) is None  # renamed
    now[0] = 31
    assert seen.user(anna) is None  # expired: flags are read again
    now[0] = 0
    seen.forget(1)
    assert seen.user(anna) is None


async def test_chat_queue_counts_what_waits_behind_the_running_jobs() -> None:
    queues = ChatQueues()
    release = asyncio.Event()

    async def slow() -> None:
        await release.wait()

    async def quick() -> None:
        pass

    queues.take(1).submit(slow)
    queues.take(1).submit(quick)
    queues.take(1).submit(quick)
    queues.take(2).submit(slow)
    await asyncio.sleep(0.01)  # both chats' first jobs are running
    assert queues.waiting() == 2
    release.set()
    await queues.wait_idle()
    assert queues.waiting() == 0


async def test_chat_queue_runs_what_is_queued_after_abandoning_once_the_old_job_ends() -> None:
    """A replica that lost a chat's lease abandons its queue; when the lease comes back
    while the stopped answer is still being stored, the new turns run, after it."""
    queues = ChatQueues()
    started = asyncio.Event()
    log: list[str] = []

    async def streaming() -> None:
        started.set()
        try:
            await asyncio.sleep(10)
        except asyncio.CancelledError:
            await asyncio.sleep(0.05)  # storing the stopped answer
            log.append("stopped answer stored")
            raise

    async def dropped() -> None:
        log.append("dropped job ran")

    async def next_turn() -> None:
        log.append("next turn")

    queues.take(3).submit(streaming)
    queued = queues.take(3)
    await started.wait()
    queues.abandon(3)
    # A job for the abandoned queue is not run here: its update stays in the durable queue
    # for the chat's next holder.
    queued.submit(dropped)
    queues.take(3).submit(next_turn)
    await asyncio.wait_for(queues.wait_idle(), 2)
    assert log == ["stopped answer stored", "next turn"]


async def test_a_new_hold_waits_for_the_abandoned_job_of_its_chat_to_end() -> None:
    """The chat's next holder reads the database only once this replica's relinquished job
    has ended (it may still be noting an answer it delivered)."""
    queues = ChatQueues()
    started, noted = asyncio.Event(), asyncio.Event()

    async def noting() -> None:
        started.set()
        try:
            await asyncio.sleep(10)
        except asyncio.CancelledError:
            await asyncio.sleep(0.05)  # the delivered answer noted, then the job ends
            noted.set()
            raise

    await queues.until_abandoned_ended(4)  # nothing of the chat: at once
    queues.take(4).submit(noting)
    await started.wait()
    queues.abandon(4)
    await asyncio.wait_for(queues.until_abandoned_ended(4), 2)
    assert noted.is_set()
    # Behind the abandoned lane, a new one: the wait is for the old one only.
    started.clear()
    noted.clear()
    queues.take(4).submit(noting)
    await started.wait()
    queues.abandon(4)
    blocked = asyncio.Event()
    queues.take(4).submit(blocked.wait)
    await asyncio.wait_for(queues.until_abandoned_ended(4), 2)
    assert noted.is_set()
    blocked.set()
    await queues.wait_idle()
