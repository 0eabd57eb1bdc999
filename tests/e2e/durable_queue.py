"""The durable queue's kill, shared by the two process stories (test_faults_process.py on long
polling, test_faults_webhook.py on a webhook): three users send three questions each at once;
the bot is killed (SIGKILL, no cleanup) while the first answers stream, so Telegram has been
told of all nine (getUpdates offset or webhook 200) while six of them wait in memory behind
the answers. After the restart every question is answered, in order, once, and nothing is
left queued."""

from __future__ import annotations

from bot.testing.yandex.scripts import Reply
from tests.e2e.faults_world import KeyedModel, Script
from tests.e2e.harness import E2E

QUESTIONS = 3


def tag(chat: int, n: int) -> str:
    return f"(queue {chat}-{n})"


def answer(chat: int, n: int) -> str:
    return f"Answer {n} for {chat}: the keeper lit the lamp at dusk and trimmed it at midnight."


def ask_nine(
    e2e: E2E, model: KeyedModel, users: tuple[int, ...], first: tuple[int, float] = (8, 0.5)
) -> None:
    """Three questions from each user, the first answers streaming slowly (`first`: chunks
    and the seconds between them, about 4 s)."""
    for chat in users:
        for n in range(1, QUESTIONS + 1):
            chunks, interval = first if n == 1 else (3, 0.1)
            model.scripts[tag(chat, n)] = Script(Reply(answer(chat, n), chunks, interval))
    for n in range(1, QUESTIONS + 1):
        for chat in users:
            e2e.tg.send_user_message(chat, f"Question {n} about lighthouses {tag(chat, n)}")


async def queued_behind_the_answers(e2e: E2E, users: tuple[int, ...]) -> None:
    """Until each first answer streams and the other six wait in the durable queue alone."""
    for chat in users:
        await e2e.wait_for(lambda chat=chat: [d for d in e2e.tg.chat(chat).drafts if d.text], 30)
    queued = ("SELECT 1 FROM processed_updates WHERE payload IS NOT NULL AND chat_id IN "
              f"({', '.join(map(str, users))})")
    await e2e.wait_for(lambda: len(e2e.db.query(queued)) == len(users) * (QUESTIONS - 1), 20)
    # Telegram considers every update delivered. A webhook's answer (200) leaves the bot just
    # after the update's row is committed, so the last acknowledgement may still be on its
    # way when the row is seen: waited for, briefly (polling acknowledged them already).
    try:
        await e2e.wait_for(lambda: not e2e.tg.updates.pending, 5)
    except AssertionError as exc:
        exc.add_note("queue: Telegram still has updates the bot did not acknowledge")
        raise


async def all_answered_in_order_once(e2e: E2E, model: KeyedModel, users: tuple[int, ...]) -> None:
    for chat in users:
        expected = [answer(chat, n) for n in range(1, QUESTIONS + 1)]
        try:
            await e2e.wait_for(lambda chat=chat, expected=expected: e2e.texts(chat) == expected,
                               60)
        except AssertionError as exc:
            exc.add_note(f"queue: chat {chat} shows {e2e.texts(chat)}")
            raise
    for chat in users:
        rows = e2e.db.messages(chat)
        assert [(m["role"], m["status"]) for m in rows] == [
            ("user", "complete"),
            ("assistant", "complete"),
        ] * QUESTIONS, f"queue: chat {chat} stored {rows}"
        questions = [m["text"] for m in rows if m["role"] == "user"]
        assert questions == [
            f"Question {n} about lighthouses {tag(chat, n)}" for n in range(1, QUESTIONS + 1)
        ], f"queue: chat {chat}'s questions out of order"
        assert model.served[tag(chat, 1)] == 2, "queue: asked before the kill and again after"
        assert [model.served[tag(chat, n)] for n in range(2, QUESTIONS + 1)] == [1] * (
            QUESTIONS - 1
        ), "queue: a queued question was asked twice"
        assert len(e2e.tg.chat(chat).bot_messages) == QUESTIONS, f"queue: chat {chat}"
    left = e2e.db.count("processed_updates",
                        f"payload IS NOT NULL AND chat_id IN ({', '.join(map(str, users))})")
    assert left == 0, "queue: left queued"
