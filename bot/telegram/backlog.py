"""At start, before new updates: what the last run left undone is resumed, in order, per chat.

1. Answers a crash cut short (left `streaming`) are answered again (`Answerer.submit_retry`,
   which first deletes the partial messages a group saw).
2. Messages still in the durable queue (bot/telegram/intake.py) are fed to the dispatcher
   again, in Telegram's order, behind those answers, marked `replayed` (no second rate-limit
   count; answers quote their question, since they come late).

Older than `max_age`, nothing is answered silently late: with "apologize" each such chat first
gets one short apology and then its answers; with "drop" those messages are not answered and
one message per chat says how many and why.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any, Literal

from aiogram import Bot, Dispatcher
from aiogram.types import Update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.conversation import ChatRef, Speaker
from bot.storage.models import utcnow
from bot.storage.pooling import one_statement_sessions
from bot.storage.repositories import MessageRepository, UpdateReceipt, UpdateRepository
from bot.telegram import maintenance
from bot.telegram.access import AccessPolicy
from bot.telegram.admission import Employees
from bot.telegram.answer_parts import Asked, Target
from bot.telegram.answers import Answerer
from bot.telegram.chatqueue import ChatQueues
from bot.telegram.intake import Intake
from bot.telegram.notifier import Notifier
from bot.telegram.texts import Translator

log = logging.getLogger(__name__)

StaleAction = Literal["apologize", "drop"]


@dataclass(slots=True)
class _Stale:
    """A chat with old undone work: whom to tell, and how many messages were dropped."""

    language: str | None
    thread_id: int | None = None
    dropped: int = 0


@dataclass(slots=True)
class Resumed:
    """What `resume_backlog` found (for the log and tests)."""

    interrupted: int = 0
    queued: int = 0
    stale_chats: int = 0
    dropped: int = 0
    feeds: list[asyncio.Task[Any]] = field(default_factory=list)
    update_ids: list[int] = field(default_factory=list)  # what the feeds carry


@dataclass(slots=True)
class Backlog:
    bot: Bot
    dp: Dispatcher
    intake: Intake
    queues: ChatQueues
    answers: Answerer
    notify: Notifier
    sessionmaker: async_sessionmaker[AsyncSession]
    max_age: dt.timedelta | None  # None: never too old
    stale_action: StaleAction = "apologize"
    # Who is an admin (ADMIN_USER_IDS; with the stored role, the one rule): a resumed turn is
    # judged again as its update was.
    policy: AccessPolicy = field(default_factory=AccessPolicy)
    # Who a user is signed in as (the admission's lookup): a resumed turn carries its
    # asker's employee as its update did, so it reads and offers what they may.
    employees: Employees | None = None
    # storage.pooling.one_statement_sessions of `sessionmaker`: a holder's first look at its chat.
    reads: async_sessionmaker[AsyncSession] = field(init=False)

    def __post_init__(self) -> None:
        self.reads = one_statement_sessions(self.sessionmaker)

    async def resume(
        self,
        chat_id: int | None = None,
        *,
        skip: Collection[int] = (),
        late: dt.timedelta | None = None,
    ) -> Resumed:
        """Everything at start (one process); with `chat_id`, one chat, by the replica that
        just took its lease (chatleases.py): `skip` the updates it fed already; only those
        accepted more than `late` ago count as replayed (quoted, not counted again)."""
        interrupted: list[maintenance.InterruptedTurn] = []
        cut_short = 0
        rows = None
        if chat_id is not None:
            # A holder taking a chat asks first whether anything was left at all (almost
            # never), then reads the queue: two reads outside a transaction, taken on every
            # hold (PostgreSQL's READ COMMITTED gave each statement its own snapshot anyway).
            async with self.reads() as session:
                if not await maintenance.has_unfinished(session, chat_id):
                    rows = await UpdateRepository(session, self.intake.bot_id).pending(chat_id)
        if rows is None:
            # One transaction: read the answers left streaming, mark them failed, read the
            # queue.
            async with self.sessionmaker() as session:
                interrupted = await maintenance.interrupted_turns(session, chat_id)
                cut_short = await MessageRepository(session).fail_streaming(chat_id)
                rows = await UpdateRepository(session, self.intake.bot_id).pending(chat_id)
                await session.commit()
        queued = await self.intake.register(self.bot, rows, skip)
        now = utcnow()
        cutoff = now - self.max_age if self.max_age is not None else None
        stale: dict[int, _Stale] = {}
        retry = []
        for turn in interrupted:
            if cutoff is not None and turn.asked_at is not None and turn.asked_at < cutoff:
                chat = stale.setdefault(turn.chat_id, _Stale(turn.language))
                if self.stale_action == "drop":
                    chat.dropped += 1
                    continue
            retry.append(turn)
        replay: list[tuple[Update, bool]] = []
        dropped: list[UpdateReceipt] = []
        for update, receipt, row in queued:
            message = update.message
            assert message is not None  # only messages are queued
            if cutoff is not None and message.date < cutoff:
                user = message.from_user
                chat = stale.setdefault(
                    message.chat.id,
                    _Stale(
                        user.language_code if user else None,
                        message.message_thread_id if message.is_topic_message else None,
                    ),
                )
                if self.stale_action == "drop":
                    chat.dropped += 1
                    dropped.append(receipt)
                    self.intake.take(update.update_id)  # never dispatched
                    continue
            replay.append((update, late is None or row.accepted_at < now - late))
        # Per chat, in this order: the notice, the answer cut short, the queued messages.
        for stale_chat, chat in stale.items():
            self._notice(stale_chat, chat)
        for turn in retry:
            await self._answer_again(turn)
        if dropped:
            await self.intake.settle_many(dropped)
        feeds = [
            asyncio.create_task(self.dp.feed_update(self.bot, update, replayed=replayed))
            for update, replayed in replay
        ]
        if feeds:
            # Each feed takes its place in its chat's queue at its first step: let them all
            # take it before the first new update can arrive.
            await asyncio.sleep(0)
        found = Resumed(
            interrupted=len(retry),
            queued=len(replay),
            stale_chats=len(stale),
            dropped=sum(chat.dropped for chat in stale.values()),
            feeds=feeds,
            update_ids=[update.update_id for update, _ in replay],
        )
        if chat_id is not None:
            if cut_short:
                log.warning(
                    "chat %s: an answer cut short by a replica that stopped: answering %d "
                    "again, then %d queued messages", chat_id, found.interrupted, found.queued,
                )
        elif cut_short or queued:
            log.info(
                "the last stop left %d answers cut short and %d queued messages: answering "
                "%d again, replaying %d; %d chats had work older than %s (%s), %d dropped",
                cut_short,
                len(queued),
                found.interrupted,
                found.queued,
                found.stale_chats,
                self.max_age,
                self.stale_action,
                found.dropped,
            )
        return found

    def _notice(self, chat_id: int, chat: _Stale) -> None:
        t = Translator.for_code(chat.language)
        if chat.dropped:
            text = t("backlog_dropped", count=chat.dropped, age=_age(self.max_age, t))
        else:
            text = t("backlog_apology")

        async def job() -> None:
            await self.notify(chat_id, text, thread_id=chat.thread_id)

        self.queues.take(chat_id).submit(job)

    async def _answer_again(self, turn: maintenance.InterruptedTurn) -> None:
        """A crash cut this answer short: answer the question again (`retry_last`)."""
        group = turn.chat_type != "private"
        target = Target(
            ChatRef(turn.chat_id, turn.chat_type),
            reply_to=turn.question_telegram_id if group else None,
            # Spoken again when it was (VOICE_REPLIES): the stored question tells if by voice.
            asked=None if turn.question_telegram_id is None or turn.author_id is None
            else Asked(turn.author_id, turn.language, turn.question_telegram_id),
        )
        admin = self.policy.is_admin(turn.author_id, stored_admin=turn.stored_admin)
        # Looked up again, as the admin rule is: a sign-in that ended meanwhile is not used.
        employee = (await self.employees.of(turn.author_id)
                    if self.employees is not None and turn.author_id is not None else None)
        speaker = Speaker(turn.author_id, turn.author_name, turn.language, is_admin=admin,
                          employee=employee)
        t = Translator.for_code(turn.language)
        self.answers.submit_retry(
            self.queues.take(turn.chat_id), target, speaker, t, turn.stale_message_ids,
            resume=True,  # its stored tool calls carry over: nothing done is done again
        )


def _age(max_age: dt.timedelta | None, t: Translator) -> str:
    minutes = int(max_age.total_seconds() // 60) if max_age is not None else 0
    if minutes >= 120 or (minutes >= 60 and minutes % 60 == 0):
        return t("age_hours", hours=minutes // 60)
    return t("age_minutes", minutes=max(minutes, 1))
