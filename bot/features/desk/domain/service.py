"""The desk's decisions: who owns a user's conversation, the bot's turns, handoffs; DeskService
holds the desk's parts (cases.py, closing.py, relays.py, erasure.py), each on the state
(state.py).

Knows nothing of Telegram: bot/features/desk/telegram turns these decisions into topics and copies.
Every method is one short unit of work (its own session and commit); nothing here waits for
Telegram or a model while a transaction is open.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from functools import cached_property

from bot.features.desk import metrics
from bot.features.desk.domain.cases import CaseReads
from bot.features.desk.domain.closing import Closing
from bot.features.desk.domain.erasure import Erasure
from bot.features.desk.domain.relays import Relays
from bot.features.desk.domain.state import DeskState
from bot.features.desk.domain.views import CaseView, Handoff, Requester, TurnNote
from bot.features.desk.storage.cases import DeskRepository
from bot.features.desk.storage.models import DeskCase, DeskStatus, HandoffReason

# A bot conversation with no message for this long is over ("no new message within 24 h" is
# the assumed resolution of the report); the next message opens a new one.
IDLE_CASE = dt.timedelta(hours=24)
NOT_FOUND_LIMIT = 2  # "not found" answers in a row that hand the conversation over


class DeskService(DeskState):
    """The desk's state (who a person owns) and its use cases, one short transaction each:
    the bot's turns and handoffs here, the rest by part: `cases` (reading cases, topics,
    cards, blocks), `closing` (ending a case, the rating), `relays` (copies between the user
    and the operators), `erasure` (a user's data forgotten, old cases purged)."""

    @cached_property
    def cases(self) -> CaseReads:
        return CaseReads(self)

    @cached_property
    def closing(self) -> Closing:
        return Closing(self)

    @cached_property
    def relays(self) -> Relays:
        return Relays(self)

    @cached_property
    def erasure(self) -> Erasure:
        return Erasure(self)

    async def _current(self, repo: DeskRepository, who: Requester) -> DeskCase:
        now = self.clock()
        case = await repo.current_case(who.user_id)
        if (
            case is not None
            and case.status is DeskStatus.BOT
            and now - case.last_user_at > IDLE_CASE
        ):
            case = None  # a bot conversation left alone for a day is over
        if case is None:
            case = await repo.open_case(who.user_id, who.name, who.language, now)
        return case

    async def note_turn(
        self,
        who: Requester,
        question: str,
        *,
        not_found: bool,
        sources: Sequence[str] = (),
        answer_message_id: int | None = None,
        question_message_id: int | None = None,
    ) -> TurnNote:
        """The bot answered ``question``; two "not found" answers in a row hand over. A
        question answered again (/retry, a restart) replaces its turn: it counts once."""
        async with self.serialized(who.user_id) as session:
            repo = DeskRepository(session)
            case = await self._current(repo, who)
            now = self.clock()
            case.last_user_at = now
            again = None
            if question_message_id is not None:
                again = await repo.turn_for_question(case.id, question_message_id)
            if not not_found:
                case.not_found_streak = 0
            elif again is None or not again.not_found:
                case.not_found_streak += 1
            if again is not None:
                again.not_found, again.sources = not_found, list(sources)
                again.answer_message_id, again.feedback = answer_message_id, None
                turn = again
            else:
                turn = await repo.add_turn(
                    case, question, not_found, sources, answer_message_id, now,
                    question_message_id,
                )
            hand_over = case.status is DeskStatus.BOT and case.not_found_streak >= NOT_FOUND_LIMIT
            note = TurnNote(turn.id, case.id, hand_over)
            await session.commit()
            return note

    async def note_thanks(self, who: Requester) -> None:
        async with self.serialized(who.user_id) as session:
            case = await DeskRepository(session).current_case(who.user_id)
            if case is not None and case.status is DeskStatus.BOT and case.confirmed_at is None:
                case.confirmed_at = self.clock()
                await session.commit()

    async def feedback(self, turn_id: int, user_id: int, value: int) -> bool:
        """👍 (+1) / 👎 (-1) on an answer; the last press counts. False: not the user's."""
        async with self.sessionmaker() as session:
            repo = DeskRepository(session)
            turn = await repo.get_turn(turn_id)
            case = await repo.get_case(turn.case_id) if turn is not None else None
            if turn is None or case is None or case.user_id != user_id:
                return False
            turn.feedback = 1 if value > 0 else -1
            if value > 0 and case.confirmed_at is None:
                case.confirmed_at = self.clock()
            await session.commit()
        metrics.feedback(value > 0)
        return True

    async def hand_over(self, who: Requester, reason: HandoffReason) -> Handoff:
        """Make the user's conversation wait for a person, unless it already does."""
        async with self.serialized(who.user_id) as session:
            repo = DeskRepository(session)
            case = await self._current(repo, who)
            if case.status is DeskStatus.BOT and case.handoff_at is not None:
                # Handed back with /bot earlier: a new handoff is a new conversation, so the
                # first one keeps its own times in the report.
                case = await repo.open_case(who.user_id, who.name, who.language, self.clock())
            started = case.status not in (DeskStatus.WAITING, DeskStatus.WITH_OPERATOR)
            if started:
                case.status = DeskStatus.WAITING
                case.handoff_reason = reason
                case.handoff_at = self.clock()
                case.last_user_at = self.clock()
                case.user_name = who.name[:256] or case.user_name
                case.language = who.language or case.language
            topic = await repo.topic(who.user_id)
            view = CaseView.of(case, topic)
            await session.commit()
        self.set_owned(who.user_id, True)
        if started:
            metrics.handoff(reason.value)
        return Handoff(view, started)
