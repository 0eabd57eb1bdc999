"""Conversations and messages, including the prompt window read."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import event, insert
from sqlalchemy.ext.asyncio import AsyncSession

from bot.storage.database import Database
from bot.storage.models import Message, MessageRole, MessageStatus
from bot.storage.repositories import (
    ChatRepository,
    ConversationRepository,
    MessageRepository,
)
from bot.storage.repositories.window import HEAD_ROWS, PROMPT_STATUSES, SCAN_PAGE

CHAT = 1001


async def _conversation(session: AsyncSession, chat_id: int = CHAT) -> int:
    await ChatRepository(session).upsert(chat_id, "private")
    return (await ConversationRepository(session).current(chat_id)).id


async def test_current_opens_once_and_reset_keeps_the_old(database: Database) -> None:
    async with database.session() as session:
        first = await _conversation(session)
        assert (await ConversationRepository(session).current(CHAT)).id == first
    async with database.session() as session:
        conversations = ConversationRepository(session)
        second = await conversations.reset(CHAT)
        assert second.id != first
        assert second.closed_at is None
        assert (await conversations.current(CHAT)).id == second.id
        history = await conversations.for_chat(CHAT)
    assert [c.id for c in history] == [first, second.id]
    assert history[0].closed_at is not None


async def test_open_id_opens_with_one_statement_or_reads_the_open_one(
    database: Database,
) -> None:
    statements: list[str] = []

    def seen(_c: Any, _cur: Any, statement: str, *_: Any) -> None:
        statements.append(statement.split(None, 1)[0].upper())

    async with database.session() as session:
        await ChatRepository(session).upsert(CHAT, "private")
    event.listen(database.engine.sync_engine, "before_cursor_execute", seen)
    try:
        async with database.session() as session:
            opened = await ConversationRepository(session).open_id(CHAT)
        assert statements == ["INSERT"], "a chat with no open conversation: one INSERT"
        async with database.session() as session:
            # One is open already (opened by another transaction, say): it is the one.
            assert await ConversationRepository(session).open_id(CHAT) == opened
    finally:
        event.remove(database.engine.sync_engine, "before_cursor_execute", seen)
    async with database.session() as session:
        conversations = ConversationRepository(session)
        assert (await conversations.current(CHAT)).id == opened
        renewed = await conversations.reset(CHAT)
        assert await conversations.open_id(CHAT) == renewed.id != opened
        assert len(await conversations.for_chat(CHAT)) == 2


async def test_chats_do_not_share_conversations(database: Database) -> None:
    async with database.session() as session:
        a = await _conversation(session, 1)
        b = await _conversation(session, -1002)
        messages = MessageRepository(session)
        await messages.add(a, MessageRole.USER, "from a", token_count=2)
        await messages.add(b, MessageRole.USER, "from b", token_count=2)
    async with database.session() as session:
        window = await MessageRepository(session).recent_for_prompt(a, 1000)
    assert [e.text for e in window] == ["from a"]


async def test_add_update_and_last_turn(database: Database) -> None:
    async with database.session() as session:
        conv = await _conversation(session)
        messages = MessageRepository(session)
        assert await messages.last_turn(conv) is None
        question = await messages.add(
            conv,
            MessageRole.USER,
            "Hi",
            author_user_id=5,
            author_name="Ann",
            token_count=3,
            telegram_message_ids=[10],
        )
        answer = await messages.add(
            conv,
            MessageRole.ASSISTANT,
            "",
            status=MessageStatus.STREAMING,
            reply_to_id=question.id,
            model="yandexgpt/latest",
        )
        turn = await messages.last_turn(conv)
        assert turn is not None
        assert (turn.user.id, turn.answer and turn.answer.id) == (question.id, answer.id)
    async with database.session() as session:
        messages = MessageRepository(session)
        updated = await messages.update(
            answer.id,
            text="Hello!",
            status=MessageStatus.COMPLETE,
            token_count=4,
            telegram_message_ids=[11, 12],
            input_tokens=20,
            output_tokens=4,
        )
        assert updated.updated_at >= updated.created_at
    async with database.session() as session:
        stored = await MessageRepository(session).get(answer.id)
        assert stored is not None
        assert (stored.text, stored.status, stored.token_count) == (
            "Hello!",
            MessageStatus.COMPLETE,
            4,
        )
        assert stored.telegram_message_ids == [11, 12]
        assert (stored.input_tokens, stored.output_tokens) == (20, 4)
        assert await MessageRepository(session).count(conv) == 2
        with pytest.raises(LookupError):
            await MessageRepository(session).update(999_999, text="x")


async def test_last_turn_without_answer_yet(database: Database) -> None:
    async with database.session() as session:
        conv = await _conversation(session)
        messages = MessageRepository(session)
        await messages.add(conv, MessageRole.USER, "one")
        await messages.add(conv, MessageRole.ASSISTANT, "two")
        last = await messages.add(conv, MessageRole.USER, "three")
        turn = await messages.last_turn(conv)
    assert turn is not None
    assert turn.user.id == last.id
    assert turn.answer is None


async def _fill(database: Database, costs: list[int | None], **kw: MessageStatus) -> int:
    async with database.session() as session:
        conv = await _conversation(session)
        messages = MessageRepository(session)
        for i, cost in enumerate(costs):
            role = MessageRole.USER if i % 2 == 0 else MessageRole.ASSISTANT
            await messages.add(conv, role, f"m{i}", token_count=cost, **kw)
    return conv


async def test_window_is_newest_first_walk_returned_oldest_first(database: Database) -> None:
    conv = await _fill(database, [10] * 100)
    async with database.read_session() as session:
        messages = MessageRepository(session)
        window = await messages.recent_for_prompt(conv, 55, include_overflow=False)
        assert [e.text for e in window] == ["m95", "m96", "m97", "m98", "m99"]
        with_overflow = await messages.recent_for_prompt(conv, 55)
        assert with_overflow[0].text == "m94"
        assert len(with_overflow) == 6
        exact = await messages.recent_for_prompt(conv, 50)
        assert exact[0].text == "m94"  # the overflow one, 50 fits exactly 5
        everything = await messages.recent_for_prompt(conv, 10_000)
        assert [e.text for e in everything] == [f"m{i}" for i in range(100)]
        capped = await messages.recent_for_prompt(conv, 10_000, max_messages=7)
        assert [e.text for e in capped] == [f"m{i}" for i in range(93, 100)]


async def test_window_spans_pages(database: Database) -> None:
    total = 3 * SCAN_PAGE
    async with database.session() as session:
        conv = await _conversation(session)
        rows = [
            {"conversation_id": conv, "role": MessageRole.USER, "text": f"m{i}", "token_count": 1}
            for i in range(total)
        ]
        await session.execute(insert(Message), rows)
    async with database.read_session() as session:
        messages = MessageRepository(session)
        window = await messages.recent_for_prompt(conv, total - 100, include_overflow=False)
        assert [e.text for e in window] == [f"m{i}" for i in range(100, total)]
        capped = await messages.recent_for_prompt(conv, total, max_messages=SCAN_PAGE + 3)
        assert len(capped) == SCAN_PAGE + 3


async def test_window_filters_statuses_and_estimates_unknown_counts(database: Database) -> None:
    async with database.session() as session:
        conv = await _conversation(session)
        messages = MessageRepository(session)
        await messages.add(conv, MessageRole.USER, "kept", token_count=1)
        await messages.add(conv, MessageRole.ASSISTANT, "boom", status=MessageStatus.FAILED)
        await messages.add(conv, MessageRole.ASSISTANT, "…", status=MessageStatus.STREAMING)
        await messages.add(conv, MessageRole.USER, "x" * 40)  # no count: 40 by default
        await messages.add(conv, MessageRole.ASSISTANT, "cut", status=MessageStatus.CANCELLED)
    async with database.read_session() as session:
        messages = MessageRepository(session)
        default = await messages.recent_for_prompt(conv, 1000)
        assert [e.text[:4] for e in default] == ["kept", "xxxx"]  # the cancelled one left out
        stopped = {*PROMPT_STATUSES, MessageStatus.CANCELLED}
        window = await messages.recent_for_prompt(conv, 1000, statuses=stopped)
        assert [e.text[:4] for e in window] == ["kept", "xxxx", "cut"]
        assert window[-1].status is MessageStatus.CANCELLED
        with_failed = await messages.recent_for_prompt(
            conv, 1000, statuses={MessageStatus.COMPLETE, MessageStatus.FAILED}
        )
        assert [e.text[:4] for e in with_failed] == ["kept", "boom", "xxxx"]
        tight = await messages.recent_for_prompt(
            conv, 20, statuses=stopped, include_overflow=False
        )
        assert [e.text for e in tight] == ["cut"]
        estimated = await messages.recent_for_prompt(
            conv, 20, statuses=stopped, include_overflow=False, estimate=lambda t: len(t) // 4
        )
        assert [e.text[:4] for e in estimated] == ["kept", "xxxx", "cut"]


async def test_history_returns_newest_of_any_status(database: Database) -> None:
    conv = await _fill(database, [1] * 10, status=MessageStatus.FAILED)
    async with database.read_session() as session:
        history = await MessageRepository(session).history(conv, limit=3)
    assert [m.text for m in history] == ["m7", "m8", "m9"]


async def test_fail_streaming_marks_interrupted_answers(database: Database) -> None:
    async with database.session() as session:
        conv = await _conversation(session)
        messages = MessageRepository(session)
        await messages.add(conv, MessageRole.USER, "q")
        left = await messages.add(
            conv, MessageRole.ASSISTANT, "half", status=MessageStatus.STREAMING
        )
    async with database.session() as session:
        assert await MessageRepository(session).fail_streaming() == 1
    async with database.session() as session:
        stored = await MessageRepository(session).get(left.id)
        assert stored is not None
        assert stored.status is MessageStatus.FAILED
        assert stored.text == "half"
        assert await MessageRepository(session).fail_streaming() == 0


async def test_note_streaming_ids_marks_only_the_chats_answer_in_progress(
    database: Database,
) -> None:
    async with database.session() as session:
        conv = await _conversation(session)
        other = await _conversation(session, CHAT + 1)
        messages = MessageRepository(session)
        done = await messages.add(conv, MessageRole.ASSISTANT, "old", telegram_message_ids=[1])
        live = await messages.add(conv, MessageRole.ASSISTANT, "", status=MessageStatus.STREAMING)
        elsewhere = await messages.add(
            other, MessageRole.ASSISTANT, "", status=MessageStatus.STREAMING
        )
    async with database.session() as session:
        assert await MessageRepository(session).note_streaming_ids(CHAT, [41, 42]) == 1
    async with database.session() as session:
        repo = MessageRepository(session)
        ids = {m: (await repo.get(m.id)).telegram_message_ids for m in (done, live, elsewhere)}
    assert ids == {done: [1], live: [41, 42], elsewhere: []}


async def test_window_queries_walk_the_conversation_index(sqlite_database: Database) -> None:
    """The window reads cost the window, not the history: every statement is an index
    SEARCH on (conversation_id, id), never a SCAN of messages or a sort."""
    conv = await _fill(sqlite_database, [10] * 50)
    statements: list[tuple[str, Any]] = []

    def capture(conn: Any, cursor: Any, sql: str, params: Any, context: Any, many: bool) -> None:
        if "FROM messages" in sql:
            statements.append((sql, params))

    sync_engine = sqlite_database.read_engine.sync_engine
    event.listen(sync_engine, "before_cursor_execute", capture)
    try:
        async with sqlite_database.read_session() as session:
            short = await MessageRepository(session).recent_for_prompt(conv, 100)
            counted = len(statements)
            long = await MessageRepository(session).recent_for_prompt(conv, 400)
    finally:
        event.remove(sync_engine, "before_cursor_execute", capture)
    # A window within the newest HEAD_ROWS messages is one statement; a longer one also
    # scans past them and loads the rest.
    assert (len(short), counted) == (11, 1)
    assert (len(long), len(statements) - counted) == (41, 3)
    assert [e.text for e in long] == [f"m{i}" for i in range(9, 50)]
    async with sqlite_database.read_engine.connect() as conn:
        for sql, params in statements:
            plan = (await conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}", params)).all()
            details = " | ".join(str(row[-1]) for row in plan)
            assert "USING INDEX ix_messages_conversation_id_id" in details, details
            assert "SCAN" not in details, details
            assert "TEMP B-TREE" not in details, details


async def test_window_matches_a_plain_walk_across_the_head_and_the_scan(
    database: Database,
) -> None:
    """The one-statement head and the scan past it agree with walking all messages back from
    the newest: for budgets and caps ending inside the head, at its edge and beyond it."""
    import random

    rng = random.Random(5)
    costs: list[int | None] = [rng.choice([None, 1, 3, 7, 20]) for _ in range(3 * HEAD_ROWS)]
    statuses = [rng.choice(list(MessageStatus)) for _ in costs]
    async with database.session() as session:
        conv = await _conversation(session)
        messages = MessageRepository(session)
        for i, (cost, status) in enumerate(zip(costs, statuses, strict=True)):
            role = MessageRole.USER if i % 2 == 0 else MessageRole.ASSISTANT
            await messages.add(conv, role, "t" * (i % 9 + 1), token_count=cost, status=status)

    def walk(budget: int, overflow: bool, cap: int | None) -> list[int]:
        chosen: list[int] = []
        spent = 0
        for i in reversed(range(len(costs))):
            if statuses[i] not in PROMPT_STATUSES:
                continue
            if cap is not None and len(chosen) >= cap:
                break
            cost = costs[i]
            spent += cost if cost is not None else i % 9 + 1
            if spent > budget:
                if overflow:
                    chosen.append(i)
                break
            chosen.append(i)
        return chosen[::-1]

    async with database.read_session() as session:
        messages = MessageRepository(session)
        first_id = (await messages.history(conv, limit=len(costs)))[0].id
        for budget in (0, 5, 40, 90, 150, 300, 10_000):
            for overflow in (True, False):
                for cap in (None, 3, HEAD_ROWS, HEAD_ROWS + 5):
                    window = await messages.recent_for_prompt(
                        conv, budget, include_overflow=overflow, max_messages=cap
                    )
                    got = [entry.id - first_id for entry in window]
                    assert got == walk(budget, overflow, cap), (budget, overflow, cap)


def test_prompt_statuses_are_defined_once_and_are_the_ones_the_core_uses() -> None:
    """The storage default and the conversation core's set were two definitions with
    different members (CANCELLED in one): a test of the storage one proved nothing of the
    bot's prompts."""
    from bot.conversation import PROMPT_STATUSES as core_statuses

    assert core_statuses is PROMPT_STATUSES
    assert MessageStatus.CANCELLED not in PROMPT_STATUSES  # INCLUDE_FAILED_IN_PROMPT adds it
