"""A turn's stored tool calls across its units of work.

A new message declines what waits; /retry detaches the old attempt's calls and a resume after a
crash carries them over; a waiting answer is reopened for the holder of its chat. What a press
or the expiry sweep decides is decisions.py's; the loop itself is loop.py's.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.features.tools import Toolbox
from bot.features.tools.storage.calls import ToolCallRepository
from bot.features.tools.storage.models import ToolCall as StoredCall
from bot.features.tools.storage.models import ToolCallState
from bot.plugin.conversation import Question
from bot.plugin.storage import Message

if TYPE_CHECKING:
    pass

logger = logging.getLogger(__name__)

DEFAULT_TOOL_MODELS = frozenset({"yandexgpt", "llama", "qwen3-235b-a22b-fp8", "gemma-3-27b-it"})
DECLINED_TEXT = "declined: the user declined this action; it was not run."
EXPIRED_TEXT = "expired: the user did not confirm in time; the action was not run."
DENIED_TEXT = "denied: an approver denied this request; the action was not run."
UNAPPROVED_TEXT = ("expired: no approver decided this request in time; the action was not "
                   "run.")
SUPERSEDED_TEXT = "declined: the user sent a new message instead; the action was not run."
RESET_TEXT = "declined: the conversation was reset; the action was not run."
# States whose calls still have to run when a turn goes on.
TO_RUN = frozenset({ToolCallState.PENDING, ToolCallState.CONFIRMED, ToolCallState.RUNNING})


@dataclass(frozen=True, slots=True)
class ToolLoopSettings:
    max_rounds: int = 6
    confirm_ttl: float = 600.0  # seconds
    result_chars: int = 4000
    parallel: int = 4
    models: frozenset[str] = DEFAULT_TOOL_MODELS
    # DAILY_TOKEN_LIMIT (0 = none): a turn whose rounds reach the speaker's budget gets no
    # more tools; the model must answer (admins are not limited, as for messages).
    daily_tokens: int = 0
    # TOOLS_CALLS_PER_USER_HOUR / TOOLS_WRITES_PER_USER_DAY (0 = none; admins exempt).
    calls_per_user_hour: int = 60
    writes_per_user_day: int = 20
    # APPROVAL_REMIND / APPROVAL_EXPIRE: a call that someone else approves reminds them, then
    # expires (seconds).
    approval_remind: float = 4 * 3600.0
    approval_expire: float = 3 * 86400.0


@dataclass(slots=True)
class Round:
    """One model round's stored calls, in position order."""

    calls: list[StoredCall] = field(default_factory=list)

    @property
    def preface(self) -> str:
        return (self.calls[0].preface or "") if self.calls else ""

    def settled(self) -> bool:
        return all(call.state not in TO_RUN for call in self.calls) and not self.waiting()

    def waiting(self) -> bool:
        return any(c.state is ToolCallState.PENDING_CONFIRMATION for c in self.calls)


class ToolTurns:
    """The stored calls of turns, across their units of work (the tool loop's `turns`)."""

    def __init__(
        self,
        *,
        toolbox: Toolbox,
        sessionmaker: async_sessionmaker[AsyncSession],
        on_superseded: Callable[[int, list[int]], None] | None = None,
    ) -> None:
        self.toolbox = toolbox
        self._sessionmaker = sessionmaker
        # Told (chat, card message ids) when a new message declined calls waiting for a
        # press: the front end takes the buttons off those cards.
        self.on_superseded = on_superseded

    async def supersede(
        self, session: AsyncSession, chat_id: int, user_id: int | None
    ) -> None:
        """A new message: calls waiting for a press in the chat are declined (those of
        `user_id`; every member's when None: /reset), and the answers that waited for them
        are given up (`cancelled`)."""
        if not self.toolbox:
            return  # no tools, nothing can wait: no query on the hot path
        repo = ToolCallRepository(session)
        text = SUPERSEDED_TEXT if user_id is not None else RESET_TEXT
        declined = await repo.decline_waiting(chat_id, by=user_id, text=text)
        if declined.answers:
            await repo.cancel_answers(declined.answers)
            logger.info("chat %s: %s declined the confirmation waiting", chat_id,
                        "a new message" if user_id is not None else "/reset")
        if declined.cards and self.on_superseded is not None:
            self.on_superseded(chat_id, declined.cards)
        if declined.approval_cards and self.on_superseded is not None:
            elsewhere: dict[int, list[int]] = {}
            for card_chat, message_id in declined.approval_cards:
                elsewhere.setdefault(card_chat, []).append(message_id)
            for card_chat, messages in elsewhere.items():
                self.on_superseded(card_chat, messages)

    async def release(self, session: AsyncSession, answer_id: int, resume: bool) -> list[int]:
        """The answer is about to be replaced: a resumed turn takes its calls along (returned,
        for `attach`), a /retry leaves them to the audit."""
        repo = ToolCallRepository(session)
        if not resume:
            await repo.detach(answer_id)
            return []
        return [call.id for call in await repo.for_answer(answer_id)]

    async def attach(self, session: AsyncSession, call_ids: Sequence[int], answer_id: int) -> None:
        await ToolCallRepository(session).attach(call_ids, answer_id)

    async def reopen_for_resume(self, answer_id: int) -> bool | None:
        """Several replicas: a waiting answer goes back to `streaming`, so the holder of its
        chat's lease answers it again as a turn cut short (`retry_last(resume=True)`: the
        stored calls carry over, the confirmed ones run). False when it was not waiting;
        None (nothing changed) when its question is no longer the conversation's last (a
        group member wrote since): a resume answers the last question, so this one must be
        carried on where it is."""
        async with self._sessionmaker() as session:
            repo = ToolCallRepository(session)
            if not await repo.answers_last_question(answer_id):
                await session.commit()
                return None
            reopened = await repo.reopen_answer(answer_id)
            await session.commit()
        return reopened is not None

    async def reopen(self, session: AsyncSession, answer_id: int) -> tuple[int, int] | None:
        return await ToolCallRepository(session).reopen_answer(answer_id)

    async def question(self, session: AsyncSession, reopened: tuple[int, int]) -> Question:
        row = await session.get(Message, reopened[0])
        assert row is not None, "a waiting answer's question is gone (cascade deletes both)"
        return Question(
            row.id, row.conversation_id, row.text, row.token_count, row.author_name
        )


def rounds_of(calls: Sequence[StoredCall]) -> list[Round]:
    rounds: dict[int, Round] = {}
    for call in sorted(calls, key=lambda c: (c.round, c.position)):
        rounds.setdefault(call.round, Round()).calls.append(call)
    return [rounds[number] for number in sorted(rounds)]
