"""Stored tool calls: written before they run, changed by atomic state moves, read for the
prompt (a turn's rounds) and for resuming a turn after a crash. What the audit views read is
audit.py's."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Sequence
from typing import Any, cast

from sqlalchemy import CursorResult, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.features.tools.storage.models import ToolCall, ToolCallState

# The rows' types are imported from here too (the repository's public names).
from bot.features.tools.storage.rows import Declined as Declined
from bot.features.tools.storage.rows import NewToolCall as NewToolCall
from bot.features.tools.storage.rows import digest, new_idempotency_key
from bot.plugin.storage import Message, MessageRole, MessageStatus, utcnow


class ToolCallRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add_round(
        self,
        *,
        question_id: int,
        answer_id: int,
        chat_id: int,
        user_id: int,
        calls: Sequence[NewToolCall],
        confirm_ttl: dt.timedelta | None = None,
        start: bool = False,
        approval_ttl: dt.timedelta | None = None,
        approval_remind: dt.timedelta | None = None,
        now: dt.datetime | None = None,
    ) -> list[ToolCall]:
        """Store one round's calls (flushed, ids set, uncommitted). A call needing the user's
        press is stored `pending_confirmation` and expires `confirm_ttl` from now; the
        others `pending`, or `running` with `start` (they run as soon as this commits, which
        saves a second write). Each gets a new random idempotency key, stored with it: the
        same for that call across retries and restarts, never another call's (row ids are
        reused on SQLite, so a key derived from them could repeat). A call with approvers
        waits `approval_ttl` instead, and is reminded of `approval_remind` from now (when
        that comes before it expires)."""
        now = now or utcnow()
        rows = []
        for call in calls:
            confirm = call.confirm or bool(call.approvers)
            ttl = approval_ttl if call.approvers and approval_ttl is not None else confirm_ttl
            remind = None
            if call.approvers and approval_remind is not None and (
                    ttl is None or approval_remind < ttl):
                remind = now + approval_remind
            if confirm:
                state = ToolCallState.PENDING_CONFIRMATION
            else:
                state = ToolCallState.RUNNING if start else ToolCallState.PENDING
            row = ToolCall(
                question_id=question_id,
                answer_id=answer_id,
                chat_id=chat_id,
                user_id=user_id,
                round=call.round,
                position=call.position,
                name=call.name,
                arguments=dict(call.arguments),
                call_id=call.call_id,
                preface=call.preface,
                idempotency_key=new_idempotency_key(),
                writes=call.writes,
                state=state,
                started_at=now if state is ToolCallState.RUNNING else None,
                expires_at=now + ttl if confirm and ttl is not None else None,
                approvers=call.approvers or None,
                remind_at=remind,
                created_at=now,
                updated_at=now,
            )
            self.session.add(row)
            rows.append(row)
        await self.session.flush()
        return rows

    async def get(self, call_id: int) -> ToolCall | None:
        return await self.session.get(ToolCall, call_id)

    async def for_answer(self, answer_id: int) -> list[ToolCall]:
        """The calls of an answer, in round and position order (the prompt's order)."""
        rows = await self.session.scalars(
            select(ToolCall)
            .where(ToolCall.answer_id == answer_id)
            .order_by(ToolCall.round, ToolCall.position)
            .execution_options(populate_existing=True)
        )
        return list(rows)

    async def for_answers(self, answer_ids: Collection[int]) -> dict[int, list[ToolCall]]:
        """The calls of several answers (the prompt window), each list in prompt order."""
        found: dict[int, list[ToolCall]] = {}
        if not answer_ids:
            return found
        rows = await self.session.scalars(
            select(ToolCall)
            .where(ToolCall.answer_id.in_(list(answer_ids)))
            .order_by(ToolCall.answer_id, ToolCall.round, ToolCall.position)
        )
        for row in rows:
            assert row.answer_id is not None
            found.setdefault(row.answer_id, []).append(row)
        return found

    async def detach(self, answer_id: int) -> int:
        """A /retry starts the turn afresh: the old attempt's calls stay for the audit but
        leave its history. Calls still waiting for a press are declined."""
        now = utcnow()
        await self._count(
            update(ToolCall)
            .where(
                ToolCall.answer_id == answer_id,
                ToolCall.state == ToolCallState.PENDING_CONFIRMATION,
            )
            .values(state=ToolCallState.DECLINED, decided_at=now, updated_at=now)
        )
        return await self._count(
            update(ToolCall)
            .where(ToolCall.answer_id == answer_id)
            .values(answer_id=None, updated_at=now)
        )

    async def decide(
        self, call_id: int, *, confirmed: bool, by: int, now: dt.datetime | None = None,
        by_name: str | None = None,
    ) -> bool:
        """The user's press, as one atomic state move: True only for the press that moved the
        call out of `pending_confirmation` before it expired (a second press, another
        replica's press or a late one gets False)."""
        now = now or utcnow()
        state = ToolCallState.CONFIRMED if confirmed else ToolCallState.DECLINED
        return (
            await self._count(
                update(ToolCall)
                .where(
                    ToolCall.id == call_id,
                    ToolCall.state == ToolCallState.PENDING_CONFIRMATION,
                    ToolCall.expires_at > now,
                )
                .values(state=state, decided_by=by, decided_at=now, updated_at=now,
                        decided_by_name=by_name)
            )
            > 0
        )

    async def decline_waiting(
        self, chat_id: int, *, by: int | None = None, text: str | None = None
    ) -> Declined:
        """Decline the calls of the chat still waiting for a press, those `by` asked for when
        given (a new message from the user cancels theirs, not another group member's, and
        not a request waiting for its approvers: that press is not the asker's to give);
        returns the answers left with nothing to wait for, and the cards."""
        now = utcnow()
        mine = [ToolCall.user_id == by, ToolCall.approvers.is_(None)] if by is not None else []
        result = await self.session.execute(
            update(ToolCall)
            .where(
                ToolCall.chat_id == chat_id,
                ToolCall.state == ToolCallState.PENDING_CONFIRMATION,
                *mine,
            )
            .values(
                state=ToolCallState.DECLINED,
                decided_by=by,
                decided_at=now,
                updated_at=now,
                outcome="declined",
                result=text,
                result_digest=digest(text) if text is not None else None,
            )
            .returning(ToolCall.answer_id, ToolCall.confirm_message_id,
                       ToolCall.approval_cards)
        )
        rows = result.all()
        answers = {row[0] for row in rows if row[0] is not None}
        if answers and by is not None:  # an answer still waiting for approvers goes on waiting
            answers -= set(await self.session.scalars(select(ToolCall.answer_id).where(
                ToolCall.answer_id.in_(answers),
                ToolCall.state == ToolCallState.PENDING_CONFIRMATION)))
        return Declined(
            answers=sorted(answers),
            cards=sorted({row[1] for row in rows if row[1] is not None}),
            approval_cards=sorted({(int(card[0]), int(card[1])) for row in rows
                                   for card in (row[2] or ())}),
        )

    async def expire(self, now: dt.datetime | None = None) -> list[ToolCall]:
        """Calls nobody pressed in time become `expired`; returns them (their turns go on)."""
        now = now or utcnow()
        ids = list(
            await self.session.scalars(
                update(ToolCall)
                .where(
                    ToolCall.state == ToolCallState.PENDING_CONFIRMATION,
                    ToolCall.expires_at <= now,
                )
                .values(state=ToolCallState.EXPIRED, outcome="expired", updated_at=now)
                .returning(ToolCall.id)
            )
        )
        return await self._read_again(ids)

    async def remind(self, now: dt.datetime | None = None) -> list[ToolCall]:
        """Requests whose approvers are due a reminder, each taken once among all replicas
        (its `remind_at` cleared by the one UPDATE that finds it due)."""
        now = now or utcnow()
        ids = list(
            await self.session.scalars(
                update(ToolCall)
                .where(
                    ToolCall.state == ToolCallState.PENDING_CONFIRMATION,
                    ToolCall.remind_at <= now,
                )
                .values(remind_at=None, updated_at=now)
                .returning(ToolCall.id)
            )
        )
        return await self._read_again(ids)

    async def _read_again(self, ids: Sequence[int]) -> list[ToolCall]:
        """The calls one UPDATE just took, as they are now (not as the session kept them)."""
        if not ids:
            return []
        rows = await self.session.scalars(
            select(ToolCall)
            .where(ToolCall.id.in_(ids))
            .execution_options(populate_existing=True)
        )
        return list(rows)

    async def add_approval_cards(self, call_id: int, cards: Sequence[tuple[int, int]]) -> None:
        """Where the approvers' cards of a request are, (chat, message) each."""
        row = await self.session.get(ToolCall, call_id, populate_existing=True)
        if row is None:
            return
        known = [list(card) for card in row.approval_cards or ()]
        known += [[chat, message] for chat, message in cards if [chat, message] not in known]
        await self.session.execute(
            update(ToolCall)
            .where(ToolCall.id == call_id)
            .values(approval_cards=known, updated_at=utcnow())
        )

    async def expire_now(self, call_id: int, now: dt.datetime | None = None) -> None:
        """A call still waiting expires at the next sweep (its approvers cannot be asked)."""
        now = now or utcnow()
        await self.session.execute(
            update(ToolCall)
            .where(ToolCall.id == call_id,
                   ToolCall.state == ToolCallState.PENDING_CONFIRMATION)
            .values(expires_at=now, remind_at=None, updated_at=now)
        )

    async def set_confirm_message(self, call_id: int, telegram_message_id: int) -> None:
        await self.session.execute(
            update(ToolCall)
            .where(ToolCall.id == call_id)
            .values(confirm_message_id=telegram_message_id, updated_at=utcnow())
        )

    async def start(self, call_ids: Collection[int]) -> None:
        """The calls are about to run: from here a crash leaves their outcome unknown."""
        now = utcnow()
        await self.session.execute(
            update(ToolCall)
            .where(ToolCall.id.in_(list(call_ids)))
            .values(state=ToolCallState.RUNNING, started_at=now, updated_at=now)
        )

    async def finish(
        self,
        call_id: int,
        *,
        state: ToolCallState,
        outcome: str,
        result: str,
        detail: str = "",
        latency_ms: int | None = None,
    ) -> None:
        """Store what the call gave the model (and its audit figures)."""
        now = utcnow()
        await self.session.execute(
            update(ToolCall)
            .where(ToolCall.id == call_id)
            .values(
                state=state,
                outcome=outcome,
                result=result,
                result_digest=digest(result),
                detail=detail or None,
                latency_ms=latency_ms,
                finished_at=now,
                updated_at=now,
            )
        )

    async def refuse(self, call_id: int, *, result: str, detail: str) -> None:
        """A call refused before it ran (its tool is unknown): failed, never started, so it
        counts towards no limit."""
        now = utcnow()
        await self.session.execute(
            update(ToolCall)
            .where(ToolCall.id == call_id)
            .values(state=ToolCallState.FAILED, outcome="error", result=result,
                    result_digest=digest(result), detail=detail, started_at=None,
                    finished_at=now, updated_at=now)
        )

    async def finish_unfinished(self, call_ids: Collection[int], *, detail: str) -> None:
        """Calls stopped before they gave a result (/stop, shutdown): failed, `cancelled`."""
        now = utcnow()
        await self.session.execute(
            update(ToolCall)
            .where(
                ToolCall.id.in_(list(call_ids)),
                ToolCall.state.in_([ToolCallState.RUNNING, ToolCallState.PENDING,
                                    ToolCallState.CONFIRMED]),
            )
            .values(state=ToolCallState.FAILED, outcome="cancelled", detail=detail,
                    finished_at=now, updated_at=now)
        )

    async def attach(self, call_ids: Collection[int], answer_id: int) -> None:
        """Calls carried over to a new answer (a turn resumed after a crash)."""
        if call_ids:
            await self.session.execute(
                update(ToolCall)
                .where(ToolCall.id.in_(list(call_ids)))
                .values(answer_id=answer_id, updated_at=utcnow())
            )

    async def waiting(self, answer_id: int) -> list[ToolCall]:
        """The answer's calls still waiting for a press."""
        rows = await self.session.scalars(
            select(ToolCall)
            .where(
                ToolCall.answer_id == answer_id,
                ToolCall.state == ToolCallState.PENDING_CONFIRMATION,
            )
            .order_by(ToolCall.round, ToolCall.position)
        )
        return list(rows)

    # -- the answer a confirmation holds ---------------------------------------------------

    async def reopen_answer(self, answer_id: int) -> tuple[int, int] | None:
        """A waiting answer goes on (`waiting` -> `streaming`), atomically: returns its
        question's id and conversation, or None when it is not waiting (any more)."""
        row = (
            await self.session.execute(
                update(Message)
                .where(Message.id == answer_id, Message.status == MessageStatus.WAITING)
                .values(status=MessageStatus.STREAMING, updated_at=utcnow())
                .returning(Message.reply_to_id, Message.conversation_id)
            )
        ).first()
        if row is None or row[0] is None:
            return None
        return int(row[0]), int(row[1])

    async def answers_last_question(self, answer_id: int) -> bool:
        """Whether the answer replies to its conversation's newest user message."""
        answer = await self.session.get(Message, answer_id)
        if answer is None or answer.reply_to_id is None:
            return False
        newest = await self.session.scalar(
            select(func.max(Message.id)).where(
                Message.conversation_id == answer.conversation_id,
                Message.role == MessageRole.USER,
            )
        )
        return newest == answer.reply_to_id

    async def cancel_answers(self, answer_ids: Collection[int]) -> None:
        """Waiting answers given up (the user wrote something else): `cancelled`."""
        if answer_ids:
            await self.session.execute(
                update(Message)
                .where(Message.id.in_(list(answer_ids)),
                       Message.status == MessageStatus.WAITING)
                .values(status=MessageStatus.CANCELLED, updated_at=utcnow())
            )

    async def _count(self, statement: Any) -> int:
        result = await self.session.execute(
            statement, execution_options={"synchronize_session": False}
        )
        return cast(CursorResult[Any], result).rowcount
