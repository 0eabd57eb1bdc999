"""The desk's decisions: who owns a user's conversation, handoffs, relay records, ratings.

Knows nothing of Telegram: bot/telegram/desk turns these decisions into topics and copies.
Every method is one short unit of work (its own session and commit); nothing here waits for
Telegram or a model while a transaction is open.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass

from sqlalchemy import and_, or_
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.metrics import registry as metrics
from bot.storage.models import (
    DeskCase,
    DeskRelay,
    DeskStatus,
    HandoffReason,
    MessageRole,
    RelayDirection,
    ToolCall,
    utcnow,
)
from bot.storage.repositories import (
    ConversationRepository,
    DeskRepository,
    MessageRepository,
    ToolCallRepository,
    UserRepository,
)

log = logging.getLogger(__name__)

# A bot conversation with no message for this long is over ("no new message within 24 h" is
# the assumed resolution of the report); the next message opens a new one.
IDLE_CASE = dt.timedelta(hours=24)
NOT_FOUND_LIMIT = 2  # "not found" answers in a row that hand the conversation over


@dataclass(frozen=True, slots=True)
class Requester:
    user_id: int
    name: str
    language: str | None = None


@dataclass(frozen=True, slots=True)
class CaseView:
    id: int
    user_id: int
    status: DeskStatus
    user_name: str
    language: str | None
    reason: HandoffReason | None
    card_message_id: int | None
    thread_id: int | None  # the user's topic, when one exists
    topic_closed: bool

    @classmethod
    def of(cls, case: DeskCase, thread_id: int | None, closed: bool) -> CaseView:
        return cls(
            case.id, case.user_id, case.status, case.user_name, case.language,
            case.handoff_reason, case.card_message_id, thread_id, closed,
        )  # fmt: skip


@dataclass(frozen=True, slots=True)
class Handoff:
    case: CaseView
    started: bool  # False: the user was already waiting for or talking to a person


@dataclass(frozen=True, slots=True)
class RelayView:
    id: int
    case_id: int
    user_id: int
    direction: RelayDirection
    source_chat_id: int
    source_message_id: int
    target_chat_id: int
    thread_id: int | None
    target_message_id: int | None

    @classmethod
    def of(cls, r: DeskRelay) -> RelayView:
        return cls(
            r.id, r.case_id, r.user_id, r.direction, r.source_chat_id, r.source_message_id,
            r.target_chat_id, r.thread_id, r.target_message_id,
        )  # fmt: skip


@dataclass(frozen=True, slots=True)
class TurnNote:
    turn_id: int
    case_id: int
    hand_over: bool  # the second "not found" in a row


@dataclass(frozen=True, slots=True)
class RatingComment:
    """What a user wrote after rating the help; `thread_id`: their topic, when one exists."""

    case_id: int
    user_id: int
    score: int | None
    text: str
    thread_id: int | None


@dataclass(frozen=True, slots=True)
class Purge:
    topics: list[tuple[int, int]]  # (user, thread) to delete whole
    messages: list[int]  # message ids to delete in topics that stay


class DeskService:
    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        *,
        support_chat_id: int,
        clock: Callable[[], dt.datetime] = utcnow,
        shared: bool = False,
    ) -> None:
        self.sessionmaker = sessionmaker
        self.support_chat_id = support_chat_id
        self.clock = clock
        # Users a person owns (waiting or with_operator): checked on every private message,
        # so kept in memory; every change of ownership goes through this service. With
        # several replicas (`shared`) another replica may change it: then the database says.
        self.shared = shared
        self._owned: set[int] = set()
        self._locks: dict[int, asyncio.Lock] = {}
        self._commenting: set[int] = set()

    async def load(self) -> None:
        async with self.sessionmaker() as session:
            repo = DeskRepository(session)
            self._owned = set(await repo.owned_user_ids())
            self._commenting = set(await repo.commenting_user_ids())

    def owned(self, user_id: int) -> bool:
        """As this process knows it (exact in one process; see `is_owned`)."""
        return user_id in self._owned

    async def is_owned(self, user_id: int) -> bool:
        """Whether a person owns the user's conversation, whichever replica handed it over."""
        if not self.shared:
            return user_id in self._owned
        return (await self._state(user_id))[0]

    async def is_commenting(self, user_id: int) -> bool:
        """`commenting`, whichever replica the user pressed "add a comment" on."""
        if not self.shared:
            return user_id in self._commenting
        return (await self._state(user_id))[1]

    async def _state(self, user_id: int) -> tuple[bool, bool]:
        async with self.sessionmaker() as session:
            return await DeskRepository(session).user_state(user_id)

    def _lock(self, user_id: int) -> asyncio.Lock:
        if len(self._locks) > 10_000:
            self._locks = {k: v for k, v in self._locks.items() if v.locked()}
        return self._locks.setdefault(user_id, asyncio.Lock())

    @contextlib.asynccontextmanager
    async def _serialized(self, user_id: int) -> AsyncIterator[AsyncSession]:
        """A transaction in which no other change of the user's desk state runs: in this
        process (a lock), and with several replicas in any (the database's lock on the user,
        held to the commit), so two replicas handing one user over at once start one
        handoff."""
        async with self._lock(user_id), self.sessionmaker() as session:
            if self.shared:
                await DeskRepository(session).lock_user(user_id)
            yield session

    # -- the bot's conversations ---------------------------------------------------------------
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
        async with self._serialized(who.user_id) as session:
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
                )  # fmt: skip
            hand_over = case.status is DeskStatus.BOT and case.not_found_streak >= NOT_FOUND_LIMIT
            note = TurnNote(turn.id, case.id, hand_over)
            await session.commit()
            return note

    async def requester(self, user_id: int) -> Requester:
        """Who the user is, from their stored row (a bare id when there is none)."""
        async with self.sessionmaker() as session:
            user = await UserRepository(session).get(user_id)
        if user is None:
            return Requester(user_id, str(user_id))
        name = " ".join(p for p in (user.first_name, user.last_name) if p) or str(user_id)
        return Requester(user_id, name, user.language)

    async def username_of(self, user_id: int) -> str | None:
        async with self.sessionmaker() as session:
            user = await UserRepository(session).get(user_id)
        return user.username if user is not None else None

    async def question_of(self, message_id: int) -> str:
        """The stored text of a user message (the question a turn answered)."""
        async with self.sessionmaker() as session:
            return await DeskRepository(session).question_of(message_id)

    async def note_thanks(self, who: Requester) -> None:
        async with self._serialized(who.user_id) as session:
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

    # -- handoff -------------------------------------------------------------------------------
    async def hand_over(self, who: Requester, reason: HandoffReason) -> Handoff:
        """Make the user's conversation wait for a person, unless it already does."""
        async with self._serialized(who.user_id) as session:
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
            view = CaseView.of(
                case, topic.thread_id if topic else None, topic.closed if topic else False
            )
            await session.commit()
        self._owned.add(who.user_id)
        if started:
            metrics.handoff(reason.value)
        return Handoff(view, started)

    async def latest_case(self, user_id: int) -> CaseView | None:
        """The user's newest conversation, resolved or not."""
        async with self.sessionmaker() as session:
            case = await DeskRepository(session).latest_case(user_id)
        return await self.case_view(case.id) if case is not None else None

    async def case_view(self, case_id: int) -> CaseView | None:
        async with self.sessionmaker() as session:
            repo = DeskRepository(session)
            case = await repo.get_case(case_id)
            if case is None:
                return None
            topic = await repo.topic(case.user_id)
            return CaseView.of(
                case, topic.thread_id if topic else None, topic.closed if topic else False
            )

    async def set_topic(self, user_id: int, thread_id: int) -> None:
        async with self.sessionmaker() as session:
            await DeskRepository(session).set_topic(user_id, self.support_chat_id, thread_id)
            await session.commit()

    async def mark_topic(self, user_id: int, *, closed: bool) -> None:
        async with self.sessionmaker() as session:
            topic = await DeskRepository(session).topic(user_id)
            if topic is not None:
                topic.closed = closed
                await session.commit()

    async def forget_topic(self, user_id: int) -> None:
        async with self.sessionmaker() as session:
            await DeskRepository(session).drop_topic(user_id)
            await session.commit()

    async def set_card(self, case_id: int, message_id: int) -> None:
        async with self.sessionmaker() as session:
            case = await DeskRepository(session).get_case(case_id)
            if case is not None:
                case.card_message_id = message_id
                await session.commit()

    async def unfinished_handoffs(self) -> list[CaseView]:
        async with self.sessionmaker() as session:
            repo = DeskRepository(session)
            out = []
            for case in await repo.cases_without_card():
                topic = await repo.topic(case.user_id)
                out.append(
                    CaseView.of(
                        case, topic.thread_id if topic else None, topic.closed if topic else False
                    )
                )
            return out

    async def handoff_context(self, user_id: int, limit: int = 8) -> list[tuple[str, str]]:
        async with self.sessionmaker() as session:
            return await DeskRepository(session).recent_dialogue(user_id, limit)

    async def dialogue_before_case(self, case_id: int, limit: int = 8) -> list[tuple[str, str]]:
        """What was said before the case opened: the dialogue with a person is in the same
        history, and comes from the case's relays instead (`case_transcript`)."""
        async with self.sessionmaker() as session:
            case = await session.get(DeskCase, case_id)
            if case is None:
                return []
            return await DeskRepository(session).recent_dialogue(
                case.user_id, limit, before=case.opened_at
            )

    async def tool_calls(self, user_id: int, limit: int = 10) -> list[ToolCall]:
        """The last tool calls made in the user's chat, oldest first (for the card)."""
        async with self.sessionmaker() as session:
            return await ToolCallRepository(session).for_chat(user_id, limit)

    async def case_transcript(self, case_id: int) -> list[tuple[str, str]]:
        """What was said while a person owned the case: ("user" | "operator", text), oldest
        first (the relayed messages' text; media without a caption say nothing)."""
        async with self.sessionmaker() as session:
            relays = await DeskRepository(session).relays_of(case_id)
        return [
            ("user" if r.direction is RelayDirection.TO_TOPIC else "operator", r.text)
            for r in relays
            if r.text
        ]

    async def sources_tried(self, case_id: int) -> list[str]:
        async with self.sessionmaker() as session:
            turns = await DeskRepository(session).turns_of([case_id])
        seen: dict[str, None] = {}
        for turn in turns:
            for source in turn.sources:
                seen.setdefault(source, None)
        return list(seen)

    async def case_for_thread(self, thread_id: int) -> CaseView | None:
        """The conversation of the topic: the user's current one, else their last one."""
        async with self.sessionmaker() as session:
            repo = DeskRepository(session)
            topic = await repo.topic_by_thread(self.support_chat_id, thread_id)
            if topic is None:
                return None
            case = await repo.latest_case(topic.user_id)
            if case is None:
                return None
            return CaseView.of(case, topic.thread_id, topic.closed)

    # -- closing -------------------------------------------------------------------------------
    async def close(self, case_id: int, *, ask_rating: bool) -> CaseView | None:
        """/close: resolved. None when it was not waiting for or with a person."""
        return await self._end(case_id, DeskStatus.RESOLVED, "closed", ask_rating)

    async def give_back(self, case_id: int) -> CaseView | None:
        """/bot: the bot answers again; no rating."""
        return await self._end(case_id, DeskStatus.BOT, "returned", False)

    async def give_up(self, case_id: int) -> CaseView | None:
        """The handoff could not reach any person (the support chat cannot hold topics): the
        bot answers again, and the report shows the conversation as "failed"."""
        return await self._end(case_id, DeskStatus.BOT, "failed", False)

    async def _end(
        self, case_id: int, status: DeskStatus, resolution: str, ask_rating: bool
    ) -> CaseView | None:
        async with self.sessionmaker() as session:
            repo = DeskRepository(session)
            case = await repo.get_case(case_id)
            if case is not None and self.shared:
                # Two replicas closing one case (/close twice, /close and /bot) end it once.
                await repo.lock_user(case.user_id)
                await session.refresh(case)
            if case is None or case.status not in (DeskStatus.WAITING, DeskStatus.WITH_OPERATOR):
                return None
            now = self.clock()
            case.status = status
            case.resolution = resolution
            case.resolved_at = now
            case.not_found_streak = 0
            if status is DeskStatus.BOT:
                case.last_user_at = now  # its 24 h of quiet start now
            if ask_rating:
                case.csat_asked_at = now
            topic = await repo.topic(case.user_id)
            view = CaseView.of(
                case, topic.thread_id if topic else None, topic.closed if topic else False
            )
            await session.commit()
        self._owned.discard(view.user_id)
        metrics.desk_ended(resolution)
        return view

    async def rate(self, case_id: int, user_id: int, score: int) -> bool:
        """One rating per conversation; False when rated already (or not theirs)."""
        async with self.sessionmaker() as session:
            case = await DeskRepository(session).get_case(case_id)
            if (
                case is None
                or case.user_id != user_id
                or case.csat_score is not None
                or not 1 <= score <= 5
            ):
                return False
            case.csat_score = score
            await session.commit()
        metrics.rating(score)
        return True

    async def want_comment(self, case_id: int, user_id: int) -> bool:
        async with self.sessionmaker() as session:
            case = await DeskRepository(session).get_case(case_id)
            if case is None or case.user_id != user_id or case.csat_comment is not None:
                return False
            case.csat_comment_pending = True
            await session.commit()
        self._commenting.add(user_id)
        return True

    async def take_comment(self, user_id: int, text: str) -> RatingComment | None:
        """The message after "add a comment" is the comment (stored once, then locked); the
        comment with where to post it for the operators. None: no comment was asked for."""
        self._commenting.discard(user_id)
        async with self.sessionmaker() as session:
            repo = DeskRepository(session)
            case = await repo.pending_comment_case(user_id)
            if case is None:
                return None
            case.csat_comment = text[:4000]
            case.csat_comment_pending = False
            topic = await repo.topic(user_id)
            comment = RatingComment(
                case.id, user_id, case.csat_score, case.csat_comment,
                topic.thread_id if topic is not None else None,
            )  # fmt: skip
            await session.commit()
            return comment

    def commenting(self, user_id: int) -> bool:
        """The user pressed "add a comment" and has not written it yet."""
        return user_id in self._commenting

    # -- relays --------------------------------------------------------------------------------
    async def relay_from_user(
        self, user_id: int, chat_id: int, message_id: int, text: str = ""
    ) -> RelayView | None:
        """Record a user's message for their topic (pending). None: not owned, or known.
        `text` (a text or caption) joins the conversation's history (see `_remember`)."""
        async with self._serialized(user_id) as session:
            repo = DeskRepository(session)
            case = await repo.current_case(user_id)
            if case is None or case.status not in (DeskStatus.WAITING, DeskStatus.WITH_OPERATOR):
                return None
            topic = await repo.topic(user_id)
            now = self.clock()
            case.last_user_at = now
            relay = await repo.add_relay(
                case, RelayDirection.TO_TOPIC, (chat_id, message_id), self.support_chat_id,
                topic.thread_id if topic else None, now,
            )  # fmt: skip
            if relay is not None and text:
                relay.text = text[:4000]  # the transcript of the case
            view = RelayView.of(relay) if relay is not None else None
            if view is not None:
                await _remember(session, user_id, MessageRole.USER, text, user_id, None)
            await session.commit()
        if view is not None:
            metrics.relay(view.direction.value)
        return view

    async def relay_from_operator(
        self, thread_id: int, message_id: int, text: str = "", author: Requester | None = None
    ) -> RelayView | None:
        """Record an operator's message for the topic's user (pending); the first one moves the
        conversation to with_operator. None: no conversation a person owns in that topic.
        `text` joins the user's conversation as an answer by `author` (see `_remember`)."""
        async with self.sessionmaker() as session:
            repo = DeskRepository(session)
            topic = await repo.topic_by_thread(self.support_chat_id, thread_id)
            if topic is None:
                return None
            if self.shared:  # its first reply moves the case on: one replica at a time
                await repo.lock_user(topic.user_id)
            case = await repo.current_case(topic.user_id)
            if case is None or case.status not in (DeskStatus.WAITING, DeskStatus.WITH_OPERATOR):
                return None
            now = self.clock()
            if case.status is DeskStatus.WAITING:
                case.status = DeskStatus.WITH_OPERATOR
                case.first_reply_at = now
            relay = await repo.add_relay(
                case, RelayDirection.TO_USER, (self.support_chat_id, message_id),
                case.user_id, None, now,
            )  # fmt: skip
            if relay is not None and text:
                relay.text = text[:4000]
            view = RelayView.of(relay) if relay is not None else None
            if view is not None:
                await _remember(
                    session, case.user_id, MessageRole.ASSISTANT, text,
                    author.user_id if author else None, author.name if author else "operator",
                )  # fmt: skip
            await session.commit()
        if view is not None:
            metrics.relay(view.direction.value)
        return view

    async def still_pending(self, ids: Sequence[int]) -> set[int]:
        """Which of these relays no one has sent yet (another replica may have)."""
        async with self.sessionmaker() as session:
            return await DeskRepository(session).still_pending(ids)

    async def relays_done(self, done: Sequence[tuple[int, int]]) -> None:
        async with self.sessionmaker() as session:
            await DeskRepository(session).finish_relays(done, self.clock())
            await session.commit()

    async def relays_failed(self, ids: Sequence[int], error: str) -> None:
        async with self.sessionmaker() as session:
            await DeskRepository(session).fail_relays(ids, error, self.clock())
            await session.commit()

    async def pending_relays(self) -> list[RelayView]:
        async with self.sessionmaker() as session:
            return [RelayView.of(r) for r in await DeskRepository(session).pending_relays()]

    async def relay_of(self, chat_id: int, message_id: int) -> RelayView | None:
        """The relay whose source is this message (to carry an edit over)."""
        async with self.sessionmaker() as session:
            relay = await DeskRepository(session).relay_by_source(chat_id, message_id)
            return RelayView.of(relay) if relay is not None else None

    async def set_block(self, user_id: int, blocked: bool) -> None:
        async with self.sessionmaker() as session:
            await UserRepository(session).set_blocked(user_id, blocked)
            await session.commit()

    async def is_blocked(self, user_id: int) -> bool:
        async with self.sessionmaker() as session:
            user = await UserRepository(session).get(user_id)
        return user is not None and user.blocked

    # -- erasure -------------------------------------------------------------------------------
    async def forget(self, user_id: int) -> int | None:
        """/forget: delete the user's cases, relays, turns and ratings (counted), and their
        topic record; returns the topic to delete in the support chat, if any."""
        async with self._serialized(user_id) as session:
            repo = DeskRepository(session)
            topic = await repo.topic(user_id)
            await repo.erase_cases(DeskCase.user_id == user_id)
            await repo.drop_topic(user_id)
            await session.commit()
        self._owned.discard(user_id)
        self._commenting.discard(user_id)
        return topic.thread_id if topic is not None else None

    async def draft_messages_of(self, user_id: int) -> list[int]:
        """The "Knowledge base" topic's messages of the user's unreviewed FAQ drafts (issue
        26), to delete with them on /forget."""
        async with self.sessionmaker() as session:
            return await DeskRepository(session).draft_messages(DeskCase.user_id == user_id)

    async def purge_older_than(self, days: int) -> Purge:
        """Retention: conversations over (resolved, or the bot's and quiet) before the cutoff
        go, counted; returns what to delete in the support chat: the topics left without any
        conversation, and the messages those conversations left in topics that stay."""
        cutoff = self.clock() - dt.timedelta(days=days)
        condition = or_(
            and_(DeskCase.status == DeskStatus.RESOLVED, DeskCase.resolved_at < cutoff),
            and_(DeskCase.status == DeskStatus.BOT, DeskCase.last_user_at < cutoff),
        )
        async with self.sessionmaker() as session:
            repo = DeskRepository(session)
            messages = await repo.support_messages(condition)
            drafts = await repo.draft_messages(condition)  # in the KB topic
            count, users = await repo.erase_cases(condition)
            remaining = await repo.users_with_cases(users)
            topics = []
            for user in users - remaining:
                topic = await repo.topic(user)
                if topic is not None:
                    topics.append((user, topic.thread_id))
                    await repo.drop_topic(user)
            await session.commit()
        if count:
            log.info("retention: removed %d support conversations older than %d days", count, days)
        gone = {user for user, _ in topics}
        return Purge(topics, sorted([m for user, m in messages if user not in gone] + drafts))


async def _remember(
    session: AsyncSession,
    chat_id: int,
    role: MessageRole,
    text: str,
    author_id: int | None,
    author_name: str | None,
) -> None:
    """A message of the dialogue with a person, in the user's conversation: after /bot the
    model knows what was asked and what a person promised. An operator's message is
    an assistant message with its author (the bot's own have none)."""
    if not text.strip():
        return  # media without a caption: nothing the model could read
    conversations = ConversationRepository(session)
    if await conversations.chat_state(chat_id) is None:
        return  # the user's chat is not stored (erased meanwhile)
    conversation = await conversations.current(chat_id)
    await MessageRepository(session).insert(
        conversation.id, role, text, author_user_id=author_id, author_name=author_name
    )
