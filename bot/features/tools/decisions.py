"""What a press on a tool call's card decides, and what the expiry sweep does: each one atomic
state change of the stored call (any replica, after any restart). Only the asker presses their
own card; a call someone else approves is decided by the first of its approvers; calls nobody
pressed in time expire, and approvers are reminded once."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.features.tools import Toolbox
from bot.features.tools.storage.calls import ToolCallRepository
from bot.features.tools.storage.models import ToolCall as StoredCall
from bot.features.tools.storage.models import ToolCallState
from bot.features.tools.turnpart import WaitingCall, waiting_calls
from bot.features.tools.turns import Round
from bot.plugin.conversation import TurnResult
from bot.plugin.helpers import wall_now
from bot.plugin.storage import Message, User

if TYPE_CHECKING:
    from bot.plugin.offers import EmployeeDirectory

logger = logging.getLogger(__name__)

# How much of the asker's question an approvers' card shows (why they ask).
WHY_CHARS = 500


class DecisionKind(StrEnum):
    CONFIRMED = "confirmed"
    DECLINED = "declined"
    EXPIRED = "expired"  # too late: the call expired (the model is told)
    ALREADY = "already"  # pressed before (or declined by a new message): nothing to do
    NOT_YOURS = "not_yours"  # someone else in a group pressed it: nothing happens
    ELSEWHERE = "elsewhere"  # not pressed on the call's own card (another chat or message)
    GONE = "gone"  # no such call (erased)
    NOT_APPROVER = "not_approver"  # a call someone else approves, pressed by a non-approver
    OWN_REQUEST = "own_request"  # the asker pressed the approvers' card of their own request


@dataclass(frozen=True, slots=True)
class Decision:
    """What a press (or the expiry sweep) did; `ready`: the turn can go on now (no other
    call of it waits)."""

    kind: DecisionKind
    answer_id: int | None = None
    chat_id: int = 0
    user_id: int = 0
    name: str = ""
    ready: bool = False
    message_id: int | None = None  # the confirmation card (when known)
    # A call someone else approves: who (its `approvers`), the approver who decided, as named
    # for others, the approvers' cards (chat, message) and the call's id.
    approvers: str = ""
    by_name: str = ""
    cards: tuple[tuple[int, int], ...] = ()
    call_id: int = 0


class Decisions:
    """Presses and the expiry sweep on stored calls (the tool loop's `decisions`; what
    `fmbot chat` asks about, too)."""

    def __init__(
        self,
        *,
        toolbox: Toolbox,
        sessionmaker: async_sessionmaker[AsyncSession],
        directory: EmployeeDirectory | None = None,
    ) -> None:
        self.toolbox = toolbox
        self._sessionmaker = sessionmaker
        # Who the employees are (the identity feature's offer; None: no sign-in): approvers
        # named by group are judged by it.
        self.directory = directory

    def waiting(self, result: TurnResult) -> tuple[WaitingCall, ...]:
        """The calls a finished turn waits for the user to press (the terminal chat asks)."""
        return waiting_calls(result)

    async def note_card(self, call_id: int, message_id: int) -> None:
        """Where the confirmation card is (to mark it when the call expires)."""
        try:
            async with self._sessionmaker() as session:
                await ToolCallRepository(session).set_confirm_message(call_id, message_id)
                await session.commit()
        except Exception:  # bookkeeping only
            logger.exception("could not note the card of tool call %s", call_id)

    async def decide(
        self, call_id: int, *, confirmed: bool, by: int, card: tuple[int, int] | None = None
    ) -> Decision:
        """The user's press on a call's button, as one atomic state move (any replica). Only
        the user who asked may press. `card`: the (chat, message) the button was pressed on
        (Telegram): it counts only in the chat the call was asked in, and on the call's own
        card (a button's data can be sent on any message of the bot). A card whose message id
        was not stored yet (the bot stopped between sending it and noting it) is the one
        pressed in its chat."""
        async with self._sessionmaker() as session:
            repo = ToolCallRepository(session)
            row = await repo.get(call_id)
            if row is None:
                await session.commit()
                return Decision(DecisionKind.GONE)
            if row.approvers:
                await session.commit()
                return await self._approve(row, confirmed=confirmed, by=by, card=card)
            if card is not None and (
                card[0] != row.chat_id
                or row.confirm_message_id not in (None, card[1])
            ):
                await session.commit()
                logger.warning("tool call %s pressed on message %s in chat %s, not on its "
                               "card: ignored", call_id, card[1], card[0])
                return Decision(DecisionKind.ELSEWHERE, row.answer_id, row.chat_id,
                                row.user_id, row.name)
            if row.user_id != by:
                await session.commit()
                return Decision(DecisionKind.NOT_YOURS, row.answer_id, row.chat_id,
                                row.user_id, row.name)
            now = wall_now()
            won = await repo.decide(call_id, confirmed=confirmed, by=by, now=now)
            if not won:
                await repo.expire(now)
            await session.refresh(row)  # the UPDATEs went around the loaded row
            await session.commit()
        if not won:
            if row.state is not ToolCallState.EXPIRED:
                return Decision(DecisionKind.ALREADY, row.answer_id, row.chat_id, row.user_id,
                                row.name)
            async with self._sessionmaker() as session:
                others = await ToolCallRepository(session).waiting(row.answer_id or 0)
                await session.commit()
            # Expired by this very press or by the sweep: carrying on twice is harmless
            # (resume finds the answer waiting only once).
            return Decision(DecisionKind.EXPIRED, row.answer_id, row.chat_id, row.user_id,
                            row.name, ready=not others)
        async with self._sessionmaker() as session:
            others = await ToolCallRepository(session).waiting(row.answer_id or 0)
            await session.commit()
        kind = DecisionKind.CONFIRMED if confirmed else DecisionKind.DECLINED
        return Decision(kind, row.answer_id, row.chat_id, row.user_id, row.name,
                        ready=not others)

    async def _approve(
        self, row: StoredCall, *, confirmed: bool, by: int, card: tuple[int, int] | None
    ) -> Decision:
        """A press on an approvers' card: never the asker's, only an approver's (a member
        of the group now, or someone in the named chat, on the call's own card), and the
        first of them wins, once among all replicas (one conditional UPDATE)."""
        def told(kind: DecisionKind, *, ready: bool = False, by_name: str = "") -> Decision:
            return Decision(kind, row.answer_id, row.chat_id, row.user_id, row.name,
                            ready=ready, approvers=row.approvers or "", by_name=by_name,
                            call_id=row.id, cards=cards_of(row))

        if card is not None and row.approval_cards and [card[0], card[1]] not in [
                list(c) for c in row.approval_cards]:
            logger.warning("tool call %s pressed on message %s in chat %s, not on one of its "
                           "approvers' cards: ignored", row.id, card[1], card[0])
            return told(DecisionKind.ELSEWHERE)
        if by == row.user_id:
            logger.info("tool call %s: its asker pressed the approvers' card: refused", row.id)
            return told(DecisionKind.OWN_REQUEST)
        if not await self.approves(row.approvers or "", by, card):
            logger.info("tool call %s: user %s is not among its approvers (%s): refused",
                        row.id, by, row.approvers)
            return told(DecisionKind.NOT_APPROVER)
        by_name = ""
        if self.directory is not None:
            by_name = await self.directory.shown(by)
        now = wall_now()
        async with self._sessionmaker() as session:
            repo = ToolCallRepository(session)
            won = await repo.decide(row.id, confirmed=confirmed, by=by, now=now,
                                    by_name=by_name or None)
            if not won:
                await repo.expire(now)
            fresh = await repo.get(row.id)
            if fresh is not None:
                await session.refresh(fresh)
            others = await repo.waiting(row.answer_id or 0) if won else []
            await session.commit()
        state = fresh.state if fresh is not None else None
        if not won:
            if state is ToolCallState.EXPIRED:
                return told(DecisionKind.EXPIRED)
            shown = (fresh.decided_by_name or str(fresh.decided_by or "")) if fresh else ""
            return told(DecisionKind.ALREADY, by_name=shown)
        logger.info("tool call %s (%s) %s by user %s (%s)", row.id, row.name,
                    "approved" if confirmed else "denied", by, by_name or "not signed in")
        kind = DecisionKind.CONFIRMED if confirmed else DecisionKind.DECLINED
        return told(kind, ready=not others, by_name=by_name)

    async def approves(self, approvers: str, user_id: int,
                       card: tuple[int, int] | None) -> bool:
        """Whether `user_id`, pressing on `card`, is one of `approvers`: a member of the
        group now (signed in), or someone in the named chat."""
        kind, _, value = approvers.partition(":")
        if kind == "group":
            if self.directory is None:
                return False
            employee = await self.directory.employee(user_id)
            return employee is not None and value in employee.groups
        if kind == "chat":
            return card is not None and str(card[0]) == value
        return False

    async def expire_due(self) -> list[Decision]:
        """Calls nobody pressed in time become `expired`, each returned once (its cards are
        closed, the asker of an approval told); `ready` on one of each turn they held when
        nothing else of it waits: that turn is carried on (the model is told)."""
        async with self._sessionmaker() as session:
            repo = ToolCallRepository(session)
            expired = await repo.expire(wall_now())
            found = []
            ready: set[int] = set()
            for answer_id in sorted({c.answer_id for c in expired if c.answer_id is not None}):
                if not await repo.waiting(answer_id):
                    ready.add(answer_id)
            for call in expired:
                first = call.answer_id in ready
                if first:
                    ready.discard(call.answer_id or 0)
                found.append(Decision(
                    DecisionKind.EXPIRED, call.answer_id, call.chat_id, call.user_id,
                    call.name, ready=first, message_id=call.confirm_message_id,
                    approvers=call.approvers or "", call_id=call.id,
                    cards=cards_of(call)))
            await session.commit()
        return found

    async def remind_due(self) -> list[Decision]:
        """Requests whose approvers are due their reminder (APPROVAL_REMIND), each once."""
        async with self._sessionmaker() as session:
            due = await ToolCallRepository(session).remind(wall_now())
            await session.commit()
        return [Decision(DecisionKind.ALREADY, call.answer_id, call.chat_id, call.user_id,
                         call.name, approvers=call.approvers or "", call_id=call.id,
                         cards=cards_of(call))
                for call in due]

    async def languages(self, user_ids: Sequence[int]) -> dict[int, str | None]:
        """The languages stored for these users (an approver's card is in theirs)."""
        if not user_ids:
            return {}
        async with self._sessionmaker() as session:
            rows = (await session.execute(
                select(User.id, User.language).where(User.id.in_(list(user_ids))))).all()
            await session.commit()
        return {int(row[0]): row[1] for row in rows}

    async def note_approval_cards(self, call_id: int, cards: list[tuple[int, int]]) -> None:
        """Where the approvers' cards of a request are (to close them once it is decided)."""
        try:
            async with self._sessionmaker() as session:
                await ToolCallRepository(session).add_approval_cards(call_id, cards)
                await session.commit()
        except Exception:  # bookkeeping only: a press on a card not noted still counts
            logger.exception("could not note the approvers' cards of tool call %s", call_id)

    async def waiting_call(self, call_id: int) -> WaitingCall | None:
        """A stored call still waiting, as its card shows it (None: decided or gone): the
        asker as their approvers see them named, and why (the question it answers)."""
        async with self._sessionmaker() as session:
            call = await session.get(StoredCall, call_id)
            if call is None or call.state is not ToolCallState.PENDING_CONFIRMATION:
                await session.commit()
                return None
            answer = await session.get(Message, call.answer_id) if call.answer_id else None
            question = (await session.get(Message, answer.reply_to_id)
                        if answer is not None and answer.reply_to_id else None)
            user = await session.get(User, call.user_id)
            await session.commit()
        name = user.first_name if user is not None else str(call.user_id)
        waiting = await self.waiting_of(Round([call]), asker=name,
                                      why=question.text if question is not None else "")
        return waiting[0] if waiting else None

    async def unreachable(self, call_id: int) -> None:
        """No approver could be asked: the request expires now (the sweep tells the asker
        and the model), rather than wait days for a press that cannot come."""
        async with self._sessionmaker() as session:
            await ToolCallRepository(session).expire_now(call_id, wall_now())
            await session.commit()

    async def waiting_of(self, round_: Round, asker: str = "",
                       why: str = "") -> tuple[WaitingCall, ...]:
        """What the round waits for; `asker` and `why` (the question) go on approvers'
        cards: the asker as the company names them when signed in."""
        waiting = []
        for call in round_.calls:
            if call.state is ToolCallState.PENDING_CONFIRMATION:
                definition = self.toolbox.declared(call.name)
                titles = ({language: definition.title_in(language) for language in ("en", "ru")}
                          if definition else {})
                who = asker
                if call.approvers and self.directory is not None:
                    who = await self.directory.shown(call.user_id) or asker
                waiting.append(WaitingCall(
                    call.id, call.name, dict(call.arguments),
                    definition.description if definition else "", call.expires_at, titles,
                    approvers=call.approvers or "", user_id=call.user_id, asker=who,
                    why=why[:WHY_CHARS] + ("…" if len(why) > WHY_CHARS else ""),
                ))
        return tuple(waiting)


def cards_of(call: StoredCall) -> tuple[tuple[int, int], ...]:
    """The approvers' cards of a call, (chat, message) each."""
    return tuple((int(card[0]), int(card[1])) for card in call.approval_cards or ())
