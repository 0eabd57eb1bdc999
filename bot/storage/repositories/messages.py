"""A conversation's messages: questions and answers stored, finished and delivered, and the
prompt-window read (window.py)."""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from typing import cast

from sqlalchemy import CursorResult, Table, bindparam, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.storage.models import (
    Conversation,
    Message,
    MessageRole,
    MessageStatus,
    utcnow,
)
from bot.storage.repositories.batch import Statement
from bot.storage.repositories.conversations import Turn
from bot.storage.repositories.window import (
    PROMPT_STATUSES,
    HistoryEntry,
    chars_as_tokens,
    read_window,
)

_messages = cast(Table, Message.__table__)

_INSERT_MESSAGE = insert(_messages).returning(_messages.c.id)


# Only while still `streaming`: a replica that lost its chat's lease (paused, cut off) must not
# overwrite what the new holder did meanwhile (it marks the answer failed, or deletes it to
# answer again). This is the fencing check, done by the row itself in the same statement.
_FINISH_ANSWER = (
    update(_messages)
    .where(
        _messages.c.id == bindparam("answer_id"),
        _messages.c.status == MessageStatus.STREAMING,
    )
    .values(
        text=bindparam("new_text"),
        status=bindparam("new_status"),
        token_count=bindparam("new_token_count"),
        input_tokens=bindparam("new_input_tokens"),
        output_tokens=bindparam("new_output_tokens"),
        delivery_pending=bindparam("new_delivery_pending"),
        updated_at=bindparam("now"),
    )
)


_FINISH_ANSWER_SHOWN = _FINISH_ANSWER.values(telegram_message_ids=bindparam("new_ids"))


_SET_TOKEN_COUNT = (
    update(_messages)
    .where(_messages.c.id == bindparam("message_id"))
    .values(token_count=bindparam("new_token_count"), updated_at=bindparam("now"))
)


_SET_IDS = (
    update(_messages)
    .where(_messages.c.id == bindparam("message_id"))
    .values(telegram_message_ids=bindparam("new_ids"), updated_at=bindparam("now"))
)


_SET_IDS_STREAMING = _SET_IDS.where(_messages.c.status == MessageStatus.STREAMING)


_DELIVERED = (
    update(_messages)
    .where(_messages.c.id == bindparam("message_id"))
    .values(delivery_pending=None, updated_at=bindparam("now"))
)


_DELIVERED_IDS = _DELIVERED.values(telegram_message_ids=bindparam("new_ids"))


def _rowcount(result: object) -> int:
    assert isinstance(result, CursorResult)
    return int(result.rowcount)


class MessageRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(
        self,
        conversation_id: int,
        role: MessageRole,
        text: str,
        *,
        status: MessageStatus = MessageStatus.COMPLETE,
        author_user_id: int | None = None,
        author_name: str | None = None,
        reply_to_id: int | None = None,
        token_count: int | None = None,
        telegram_message_ids: Sequence[int] = (),
        model: str | None = None,
    ) -> Message:
        """Store a message and flush it, so `.id` is set (still uncommitted)."""
        message = Message(
            conversation_id=conversation_id,
            role=role,
            text=text,
            status=status,
            author_user_id=author_user_id,
            author_name=author_name,
            reply_to_id=reply_to_id,
            token_count=token_count,
            telegram_message_ids=list(telegram_message_ids),
            model=model,
        )
        self.session.add(message)
        await self.session.flush()
        return message

    async def insert(
        self,
        conversation_id: int,
        role: MessageRole,
        text: str,
        *,
        status: MessageStatus = MessageStatus.COMPLETE,
        author_user_id: int | None = None,
        author_name: str | None = None,
        reply_to_id: int | None = None,
        token_count: int | None = None,
        telegram_message_ids: Sequence[int] = (),
        model: str | None = None,
    ) -> int:
        """`add` without an ORM object: one INSERT ... RETURNING id (the turn's hot path)."""
        now = utcnow()
        result = await self.session.execute(
            _INSERT_MESSAGE,
            {
                "conversation_id": conversation_id,
                "role": role,
                "text": text,
                "status": status,
                "author_user_id": author_user_id,
                "author_name": author_name,
                "reply_to_id": reply_to_id,
                "token_count": token_count,
                "telegram_message_ids": list(telegram_message_ids),
                "model": model,
                "created_at": now,
                "updated_at": now,
            },
        )
        return int(result.scalar_one())

    async def finish_answer(
        self,
        message_id: int,
        *,
        text: str,
        status: MessageStatus,
        token_count: int | None,
        input_tokens: int | None,
        output_tokens: int | None,
        telegram_message_ids: Sequence[int] | None = None,
        delivery_pending: bool = False,
    ) -> bool:
        """Store an answer's final text, status and counts (and, when given, the Telegram
        messages showing it) in one UPDATE; False when the row is gone (/forget, retention)
        or no longer `streaming` (another replica took the chat over)."""
        params: dict[str, object] = {
            "answer_id": message_id,
            "new_text": text,
            "new_status": status,
            "new_token_count": token_count,
            "new_input_tokens": input_tokens,
            "new_output_tokens": output_tokens,
            "new_delivery_pending": True if delivery_pending else None,
            "now": utcnow(),
        }
        stmt = _FINISH_ANSWER
        if telegram_message_ids is not None:
            stmt = _FINISH_ANSWER_SHOWN
            params["new_ids"] = list(telegram_message_ids)
        return _rowcount(await self.session.execute(stmt, params)) > 0

    async def mark_delivered(
        self, message_id: int, telegram_ids: Sequence[int] | None = None
    ) -> bool:
        """The answer reached Telegram (`delivery_pending` cleared), shown in `telegram_ids`
        when given. False when the row is gone."""
        params: dict[str, object] = {"message_id": message_id, "now": utcnow()}
        stmt = _DELIVERED
        if telegram_ids is not None:
            stmt = _DELIVERED_IDS
            params["new_ids"] = list(telegram_ids)
        return _rowcount(await self.session.execute(stmt, params)) > 0

    @staticmethod
    def set_token_count_statement(message_id: int, token_count: int) -> Statement:
        """The question's token count, as a statement to run (batch.py)."""
        params = {"message_id": message_id, "new_token_count": token_count, "now": utcnow()}
        return _SET_TOKEN_COUNT, params

    @staticmethod
    def set_telegram_ids_statement(
        message_id: int, telegram_ids: Sequence[int], *, only_streaming: bool = False
    ) -> Statement:
        """Record the Telegram messages showing a message, as a statement to run (batch.py);
        with `only_streaming`, only while it is still `streaming`."""
        stmt = _SET_IDS_STREAMING if only_streaming else _SET_IDS
        return stmt, {"message_id": message_id, "new_ids": list(telegram_ids), "now": utcnow()}

    async def get(self, message_id: int) -> Message | None:
        return await self.session.get(Message, message_id)

    async def update(
        self,
        message: Message | int,
        *,
        text: str | None = None,
        status: MessageStatus | None = None,
        token_count: int | None = None,
        telegram_message_ids: Sequence[int] | None = None,
        model: str | None = None,
        input_tokens: int | None = None,
        output_tokens: int | None = None,
    ) -> Message:
        """Change the given fields (None = leave as is) and flush. Accepts a message or its id."""
        if isinstance(message, int):
            found = await self.session.get(Message, message)
            if found is None:
                raise LookupError(f"no message with id {message}")
            message = found
        if text is not None:
            message.text = text
        if status is not None:
            message.status = status
        if token_count is not None:
            message.token_count = token_count
        if telegram_message_ids is not None:
            message.telegram_message_ids = list(telegram_message_ids)
        if model is not None:
            message.model = model
        if input_tokens is not None:
            message.input_tokens = input_tokens
        if output_tokens is not None:
            message.output_tokens = output_tokens
        message.updated_at = utcnow()
        await self.session.flush()
        return message

    async def recent_for_prompt(
        self,
        conversation_id: int,
        token_budget: int,
        statuses: Collection[MessageStatus] = PROMPT_STATUSES,
        *,
        include_overflow: bool = True,
        estimate: Callable[[str], int] = chars_as_tokens,
        max_messages: int | None = None,
    ) -> list[HistoryEntry]:
        """The newest messages whose token counts fit in `token_budget`, oldest first.

        Walks back from the newest message on the (conversation_id, id) index, so the cost
        is the window's, not the history's (see window.py). With `include_overflow` the
        first message that no longer fits is included too, so the prompt builder can cut it
        with a marker or drop it; the builder does the exact fitting (pairs, system prompt,
        new message).
        A message without a token count costs `estimate(text)`.
        """
        return await read_window(
            self.session,
            conversation_id,
            token_budget,
            statuses,
            include_overflow=include_overflow,
            estimate=estimate,
            max_messages=max_messages,
        )

    async def newest_question(self, chat_id: int) -> Message | None:
        """The newest user message of the chat's open conversation (None: there is none)."""
        return await self.session.scalar(
            select(Message)
            .join(Conversation, Conversation.id == Message.conversation_id)
            .where(Conversation.chat_id == chat_id, Conversation.closed_at.is_(None),
                   Message.role == MessageRole.USER)
            .order_by(Message.id.desc())
            .limit(1)
        )

    async def last_turn(self, conversation_id: int) -> Turn | None:
        """The newest user message (any status) and the newest assistant message after it."""
        user = await self.session.scalar(
            select(Message)
            .where(Message.conversation_id == conversation_id, Message.role == MessageRole.USER)
            .order_by(Message.id.desc())
            .limit(1)
        )
        if user is None:
            return None
        answer = await self.session.scalar(
            select(Message)
            .where(
                Message.conversation_id == conversation_id,
                Message.role == MessageRole.ASSISTANT,
                Message.id > user.id,
            )
            .order_by(Message.id.desc())
            .limit(1)
        )
        return Turn(user=user, answer=answer)

    async def history(self, conversation_id: int, limit: int = 50) -> list[Message]:
        """The newest `limit` messages of any status, oldest first (for display and export)."""
        rows = await self.session.scalars(
            select(Message)
            .where(Message.conversation_id == conversation_id)
            .order_by(Message.id.desc())
            .limit(limit)
        )
        return list(reversed(list(rows)))

    async def count(self, conversation_id: int) -> int:
        total = await self.session.scalar(
            select(func.count())
            .select_from(Message)
            .where(Message.conversation_id == conversation_id)
        )
        return int(total or 0)

    async def note_streaming_ids(self, chat_id: int, telegram_ids: list[int]) -> int:
        """Record where a chat's answer in progress is shown (its rows still `streaming`), so a
        restart after a crash can find and replace the partial messages; returns rows changed."""
        in_chat = select(Conversation.id).where(Conversation.chat_id == chat_id)
        result = await self.session.execute(
            update(Message)
            .where(
                Message.status == MessageStatus.STREAMING,
                Message.role == MessageRole.ASSISTANT,
                Message.conversation_id.in_(in_chat.scalar_subquery()),
            )
            .values(telegram_message_ids=list(telegram_ids))
            .returning(Message.id)
        )
        return len(result.all())

    async def fail_streaming(self, chat_id: int | None = None) -> int:
        """Mark answers still `streaming` (left by a process that died mid-answer) as failed;
        returns how many. Only where no turn can be running: at start-up of a single process,
        or (`chat_id`) by the holder of that chat's lease (bot/telegram/chatleases.py)."""
        streaming = update(Message).where(Message.status == MessageStatus.STREAMING)
        # An answer stored but never delivered is as good as cut short: no longer pending.
        undelivered = update(Message).where(Message.delivery_pending.is_(True))
        if chat_id is not None:
            in_chat = select(Conversation.id).where(Conversation.chat_id == chat_id)
            streaming = streaming.where(Message.conversation_id.in_(in_chat.scalar_subquery()))
            undelivered = undelivered.where(
                Message.conversation_id.in_(in_chat.scalar_subquery())
            )
        now = utcnow()
        failed = await self.session.execute(
            streaming.values(status=MessageStatus.FAILED, delivery_pending=None, updated_at=now)
            .returning(Message.id)
        )
        cleared = await self.session.execute(
            undelivered.values(delivery_pending=None, updated_at=now).returning(Message.id)
        )
        return len(failed.all()) + len(cleared.all())
