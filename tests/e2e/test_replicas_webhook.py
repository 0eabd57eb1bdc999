"""Three `python -m bot run` replicas in webhook mode on PostgreSQL and Redis, behind a
round-robin proxy, one test in steps. First a long answer streams on `a`, and the user's
`/stop`, or the draft's stop button, is delivered to `b`: the answer must stop within about a
second and be finalised as stopped (shown with the mark, stored `cancelled`): `b` wakes the
chat's holder through Redis pub/sub (the `/stop` is then fed on `a`), or publishes the stop
for the draft. Then consecutive messages of one chat land on different replicas, yet every
answer is exact, in order and sent once, and Telegram never answers 429. Then one replica is
killed (SIGKILL) while it streams: the others take its chats over once its leases expire,
remove the partial answers its users saw, answer those questions again and then what was
queued behind them, each once. The two left are stopped with SIGTERM: each closes its Redis
subscription, nothing left pending."""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from tests.e2e.cluster import webhook_cluster
from tests.e2e.harness import BotDiedError
from tests.e2e.processes import (
    BotProcess,
)
from tests.e2e.rrproxy import RoundRobinProxy
from tests.fakes.telegram.server import TelegramServer
from tests.fakes.yandex.server import FakeFoundationModels

# One xdist group with the polling replicas (test_replicas_polling.py says why).
pytestmark = [pytest.mark.process, pytest.mark.timeout(360),
              pytest.mark.xdist_group("replicas")]

NAMES = ("a", "b", "c")
PRIVATE = range(1, 91)  # 90 private chats ...
GROUPS = range(-100_010, -100_000)  # ... and 10 groups: 100 users
BOT_USERNAME = "fm_test_bot"
IMAGE = 500  # a private chat asking for a picture
A, B = 0, 1  # the proxy's backends
STOPPED = "[stopped]"
# A liveness bound, not a measurement: the text cut short (the answer is 40 chunks 0.25 s
# apart) proves the stop came before the answer's end, whatever the machine's load. How fast
# the stop is (about 0.3 s here) is printed, and measured where timing belongs (bench/).
STOP_WITHIN = 30.0


@dataclass
class Cluster:
    tg: TelegramServer
    fm: FakeFoundationModels
    bots: dict[str, BotProcess]
    proxy: RoundRobinProxy

    def texts(self, chat_id: int) -> list[str]:
        chat = self.tg.chats.get(chat_id)
        return [] if chat is None else [m.text or "" for m in chat.bot_messages]

    def photos(self, chat_id: int) -> list[bytes]:
        chat = self.tg.chats.get(chat_id)
        return [] if chat is None else [m.photo for m in chat.bot_messages if m.photo]

    def refused(self) -> list[tuple[float, str, int | None, str | None]]:
        """The calls Telegram answered 429 (for the failure message)."""
        return [(round(call.at % 1000, 2), call.method, call.chat_id, call.description)
                for call in self.tg.calls if call.status == 429]

    def ask(self, chat_id: int, text: str) -> None:
        if chat_id > 0:
            self.tg.send_user_message(chat_id, text)
        else:
            self.tg.send_user_message(
                chat_id, f"@{BOT_USERNAME} {text}", chat_type="supergroup",
                title=f"Group {chat_id}", user={"id": -chat_id, "first_name": "G"},
            )

    async def wait_for(self, predicate: Callable[[], object], timeout: float) -> None:  # noqa: ASYNC109
        def check() -> object:
            for name, bot in self.bots.items():
                if bot.proc is not None and not bot.running and bot.returncode != -9:
                    raise BotDiedError(f"{name} exited with {bot.returncode}:\n{bot.log_tail()}")
            return predicate()

        try:
            await self.tg.wait_for(check, timeout)
        except TimeoutError:
            # Every replica's log lines about the chats still wrong (not the last lines,
            # which are other chats' routine).
            wrong = [str(ch) for ch in self.sample()]
            tails = "\n".join(
                f"--- {n}:\n" + "\n".join(
                    line for line in b.log_text().splitlines()
                    if any(f"chat {ch}" in line or f"chat-{ch}" in line for ch in wrong)
                )[-4000:]
                for n, b in self.bots.items()
            )
            raise AssertionError(
                f"timed out after {timeout} s; chats now: {self.sample()}\n{tails}"
            ) from None

    async def streaming_on_a(self, chat_id: int) -> None:
        self.proxy.pin_next(A)
        self.tg.send_user_message(chat_id, self.question(chat_id))
        chat = self.tg.chat(chat_id)
        await self.tg.wait_for(lambda: [d for d in chat.drafts if d.text], 15)

    async def stopped_within(self, chat_id: int, seconds: float) -> float:
        """Seconds until the chat shows its answer marked stopped (fails past `seconds`)."""
        began = time.monotonic()
        try:
            await self.tg.wait_for(lambda: self.texts(chat_id), seconds)
        except TimeoutError:
            logs = "\n".join(
                f"--- {n}:\n" + "\n".join(
                    line for line in b.log_text().splitlines()
                    if f"chat {chat_id}" in line or "chats" in line or "signal" in line
                )[-3000:]
                for n, b in self.bots.items()
            )
            raise AssertionError(f"not stopped within {seconds} s; shown {self.texts(chat_id)}"
                                 f"\n{logs}") from None
        took = time.monotonic() - began
        [shown] = self.texts(chat_id)
        assert shown.endswith(STOPPED), shown
        written = shown.removesuffix(STOPPED).strip()
        assert written, "some of the answer was shown"
        # Cut short: the whole echo takes 10 s; a stop that came late would show all of it.
        assert len(written) < len(f"Echo: {self.question(chat_id)}"), shown
        return took

    @staticmethod
    def question(chat_id: int) -> str:
        return f"Tell me a long story, please ({chat_id})"

    async def stored_answers(self, chat_id: int, database_url: str) -> list[str]:
        url = database_url.replace("postgresql+asyncpg://", "postgresql://")
        connection = await asyncpg.connect(url)
        try:
            rows = await connection.fetch(
                "SELECT m.status FROM messages m JOIN conversations c "
                "ON c.id = m.conversation_id WHERE c.chat_id = $1 AND m.role = 'assistant' "
                "ORDER BY m.id",
                chat_id,
            )
        finally:
            await connection.close()
        return [row["status"] for row in rows]

    def logged(self, name: str, words: str) -> list[str]:
        return [str(r.get("message")) for r in self.bots[name].log_records()
                if words in str(r.get("message"))]

    def sample(self) -> dict[int, list[str]]:
        """The chats whose answers differ from the 4 expected (for failure messages)."""
        wrong = [ch for ch in chats() if self.texts(ch) != expected(ch, 4)]
        return {ch: self.texts(ch) for ch in wrong}


@pytest.fixture
async def cluster(tmp_path: Path, postgres_url: str, redis_url: str) -> AsyncIterator[Cluster]:
    async with webhook_cluster(
        NAMES, tmp_path, database_url=postgres_url, redis_url=redis_url,
        label="E2E-webhook-replicas", ready_within=90,
        # Every chat streams at once in the second part (the cap is shared).
        extra={"YANDEX_MAX_CONCURRENT_GENERATIONS": "120"},
    ) as r:
        yield Cluster(r.tg, r.fm, r.bots, r.proxy)


def expected(chat_id: int, n: int) -> list[str]:
    # In groups the model sees who asks ("G: ...").
    who = "G: " if chat_id < 0 else ""
    return [f"Echo: {who}question {abs(chat_id)}.{i}" for i in range(1, n + 1)]


def chats() -> list[int]:
    return [*PRIVATE, *GROUPS]


async def until_partials_noted(url: str, chat_ids: list[int], within: float = 30.0) -> None:
    """Until each chat's newest answer row holds the Telegram ids of the messages showing it."""
    engine = create_async_engine(url)
    query = text(
        "SELECT DISTINCT ON (c.chat_id) c.chat_id, m.telegram_message_ids FROM messages m"
        " JOIN conversations c ON c.id = m.conversation_id"
        " WHERE m.role = 'assistant' AND c.chat_id = ANY(:chats)"
        " ORDER BY c.chat_id, m.id DESC"
    )
    try:
        deadline = asyncio.get_running_loop().time() + within
        while True:
            async with engine.connect() as conn:
                rows = (await conn.execute(query, {"chats": chat_ids})).all()
            noted = {chat for chat, ids in rows if ids}
            if noted >= set(chat_ids):
                return
            assert asyncio.get_running_loop().time() < deadline, sorted(set(chat_ids) - noted)
            await asyncio.sleep(0.1)
    finally:
        await engine.dispose()


async def stop_sent_to_the_other_replica_stops_the_answer_at_once(p: Cluster, url: str) -> None:
    chat = 701
    await p.streaming_on_a(chat)
    p.proxy.pin_next(B)
    p.tg.send_user_message(chat, "/stop")
    took = await p.stopped_within(chat, STOP_WITHIN)
    print(f"/stop through the other replica: stopped after {took:.2f} s")
    assert await p.stored_answers(chat, url) == ["cancelled"]
    await asyncio.sleep(1.0)  # a "nothing to stop" reply or a second answer would show now
    assert len(p.texts(chat)) == 1, p.texts(chat)
    # Nothing streams now: a /stop through b is answered once, by whichever replica holds.
    p.proxy.pin_next(B)
    p.tg.send_user_message(chat, "/stop")
    await p.tg.wait_for(lambda: len(p.texts(chat)) == 2, 10)
    assert p.texts(chat)[1] == "Nothing is being written right now."
    await asyncio.sleep(1.0)
    assert len(p.texts(chat)) == 2, p.texts(chat)


async def stop_button_pressed_through_the_other_replica_stops_its_draft(
    p: Cluster, url: str
) -> None:
    chat = 702
    await p.streaming_on_a(chat)
    p.proxy.pin_next(B)
    p.tg.press_stop(chat)
    took = await p.stopped_within(chat, STOP_WITHIN)
    print(f"stop button through the other replica: stopped after {took:.2f} s")
    assert await p.stored_answers(chat, url) == ["cancelled"]
    assert p.logged("b", f"stop button in chat {chat}"), "the button did not reach b"
    assert p.logged("a", "stopped for another replica")
    await asyncio.sleep(1.0)
    assert len(p.texts(chat)) == 1, p.texts(chat)


async def test_three_webhook_replicas_stop_through_each_other_answer_once_and_take_over(
    cluster: Cluster, postgres_url: str
) -> None:
    c = cluster
    # Steps 1 and 2: slow answers (10 s each), so only a stop ends one within a second.
    c.fm.default_chunks, c.fm.default_interval = 40, 0.25
    for n, step in enumerate((stop_sent_to_the_other_replica_stops_the_answer_at_once,
                              stop_button_pressed_through_the_other_replica_stops_its_draft), 1):
        try:
            await step(c, postgres_url)
        except BaseException as exc:
            exc.add_note(f"in step {n}: {step.__name__.replace('_', ' ')}")
            raise
    await answer_in_order_once_and_take_over_a_killed_one(c, postgres_url)


async def answer_in_order_once_and_take_over_a_killed_one(c: Cluster, postgres_url: str) -> None:
    """Step 3: 100 users, two questions each across the replicas; step 4: `a` killed mid-answer."""
    began = time.monotonic()
    # Answers stream for about 0.3 s: a chat's second message arrives (at another replica)
    # while its first is still being answered.
    c.fm.default_chunks, c.fm.default_interval = 4, 0.08
    # Two questions per user in quick succession, 100 users within about 2 s: their 200
    # answers need more than Telegram's 30 messages a second for the whole bot, which the
    # three replicas can keep only by sharing the budget through Redis (each replica's own
    # 30/s would be answered with 429s by the fake).
    for chat_id in chats():
        c.ask(chat_id, f"question {abs(chat_id)}.1")
        await asyncio.sleep(0.01)
        c.ask(chat_id, f"question {abs(chat_id)}.2")
        await asyncio.sleep(0.01)
    await c.wait_for(lambda: all(c.texts(ch) == expected(ch, 2) for ch in chats()), 90)
    await asyncio.sleep(1.0)  # a repeated answer would arrive by now
    for chat_id in chats():
        assert c.texts(chat_id) == expected(chat_id, 2), ("step 3", chat_id, c.texts(chat_id))
    assert c.tg.count_429 == 0, ("step 3: Telegram answered 429", c.refused())
    assert all(n >= 50 for n in c.proxy.sent.values()), c.proxy.sent
    first = time.monotonic() - began
    print(f"200 turns through 3 replicas in {first:.1f} s")

    # Slow answers: the groups and 20 private chats ask a third question, and `a` is killed
    # while it streams about a third of them, far from their end. The fake splits an answer
    # at words (3 chunks for "Echo: question 9.3", 4 in groups), so 5 s between chunks makes
    # them last 10-15 s. Far from their end, because an answer Telegram took just before a
    # kill, which the database had not noted yet, is sent again (docs/design-notes.md:
    # Telegram has no idempotency key): a private chat's answer is one sendMessage after its
    # drafts, with no id to remove. With 0.8 s (1.6 s answers) a's private answers were
    # ending around the kill, and one was sent twice (CI, stop 40).
    c.fm.default_chunks, c.fm.default_interval = 20, 5.0
    deletes_before = sum(1 for call in c.tg.calls if call.method == "deleteMessage")
    # And an image job owned by a: still pending when a dies (polled at ~1, 2.5, 4.8 s...).
    c.fm.image_pending_polls = 6
    c.proxy.pin_next(0)
    c.tg.send_user_message(IMAGE, "/image a lighthouse in a storm")
    await c.wait_for(lambda: c.texts(IMAGE), 10)  # its status message: the job is stored
    first_wave = [*GROUPS, *list(PRIVATE)[:20]]
    wave = time.monotonic()
    for chat_id in first_wave:
        c.ask(chat_id, f"question {abs(chat_id)}.3")
        await asyncio.sleep(0.05)

    def partial(chat_id: int) -> bool:
        return len(c.texts(chat_id)) == 3 and c.texts(chat_id)[2] != expected(chat_id, 3)[2]

    # Every group shows its partial third answer, and the database holds where (the ids are
    # stored just after Telegram took the message): a group's partial shown in the instant
    # before a kill, not yet noted, would stay in the chat (Telegram gives an id only after
    # the send), which is not what this test is about.
    await c.wait_for(lambda: all(map(partial, GROUPS)), 30)
    await until_partials_noted(postgres_url, list(GROUPS))
    await c.bots["a"].kill()
    killed, killed_at = time.monotonic(), time.time()
    # The premise, read after the kill (nothing more comes from a): no third answer was
    # complete yet, a's or another's (the earliest ends 10 s after its question).
    done = [ch for ch in first_wave if c.texts(ch)[2:3] == expected(ch, 3)[2:]]
    assert not done, f"answers ended before the kill, {killed - wave:.1f} s in: {done}"
    c.fm.default_chunks, c.fm.default_interval = 4, 0.05
    for chat_id in list(PRIVATE)[20:]:
        c.ask(chat_id, f"question {abs(chat_id)}.3")
        await asyncio.sleep(0.05)
    for chat_id in chats():
        c.ask(chat_id, f"question {abs(chat_id)}.4")
        await asyncio.sleep(0.05)
    await c.wait_for(lambda: all(c.texts(ch) == expected(ch, 4) for ch in chats()), 60)

    recovered = time.monotonic() - killed
    await c.wait_for(lambda: c.photos(IMAGE), 30)
    await asyncio.sleep(1.5)
    for chat_id in chats():
        assert c.texts(chat_id) == expected(chat_id, 4), ("step 4", chat_id, c.texts(chat_id))
    assert c.tg.count_429 == 0, ("step 4: Telegram answered 429", c.refused())
    # The image job a owned was resumed by another replica and delivered once, its status
    # message replaced by the photo.
    assert c.photos(IMAGE) == [c.fm.image_bytes]
    assert len(c.tg.chats[IMAGE].bot_messages) == 1
    assert any("resuming 1 image jobs" in r.get("message", "")
               for name in ("b", "c") for r in c.bots[name].log_records())
    # The dead replica's partial group answers were deleted and answered again.
    took_over = [r for name in ("b", "c") for r in c.bots[name].log_records()
                 if "cut short by a replica" in r.get("message", "")]
    assert took_over, "no replica took over an answer cut short"
    deletes = sum(1 for call in c.tg.calls if call.method == "deleteMessage") - deletes_before
    assert deletes >= 1, "no partial answer was removed"
    after = sorted(dt.datetime.fromisoformat(r["ts"]).timestamp() - killed_at for r in took_over)
    print(f"killed a: {len(took_over)} answers taken over {after[0]:.1f}-{after[-1]:.1f} s after "
          f"the kill, {deletes} partial messages removed, all answered {recovered:.1f} s after")
    # Only a dead replica's answers are taken over: none before the kill. How soon after is
    # a figure (printed above), not a bound a busy machine could miss: the wait for every
    # answer (60 s) is the liveness bound, and the lease's timing is checked exactly under
    # virtual time (tests/coordination/test_leadership.py).
    assert after[0] > 0, "an answer was taken over while its replica was alive"
    for name in ("b", "c"):
        bot = c.bots[name]
        assert await bot.terminate() == 0, f"{name}:\n{bot.log_tail()}"
        # The subscription is closed at shutdown: nothing is left pending.
        assert "Task was destroyed" not in bot.log_text(), bot.log_tail()
