"""Update middlewares, outermost first (see `install_middlewares`):

1. OrderingMiddleware - drops an update the intake did not accept (a duplicate: the intake
   claimed every update exactly once before Telegram was told it arrived, see intake.py);
   a message takes its place in its chat's FIFO before any await, with its `receipts` (the
   durable queue's entry, settled by the chat's worker when the message's turn has passed).
2. AdmissionMiddleware (admission.py) - the one decision of who asks, on whose behalf, and
   whether they may (`data["principal"]`); drops other bots; outsiders get one refusal and
   cost nothing (no model call; their message leaves the durable queue when its turn passes).
   It also decides `is_admin` (one rule: ADMIN_USER_IDS or the stored admin role) and drops
   blocked users, from the standing `StoredStandings` reads.
3. DatabaseMiddleware - upserts user and chat, injects `session` and `t` (texts in the user's
   language).
4. QuotaMiddleware (inner, on message handlers) - the per-minute rate limit for every message
   handler but those flagged `quota="free"` (/stop), plus the daily token budget for
   `quota="text"`. In a group these notices are shown to that member alone (an ephemeral
   message, notices.py), today's reply elsewhere. (A feature's own budget, as /image's, is
   its handler's check.)

On SQLite every transaction starts with BEGIN IMMEDIATE (bot/storage/database.py), so the
bookkeeping is committed before the handler runs, and a handler that touches `session`
holds the write lock until it returns: handlers never call services while holding it.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from aiogram import Dispatcher
from aiogram.dispatcher.flags import get_flag
from aiogram.dispatcher.middlewares.base import BaseMiddleware
from aiogram.types import Chat, Message, TelegramObject, Update, User
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.clock import loop_time
from bot.storage.models import User as StoredUser
from bot.storage.models import UserRole, utc_today
from bot.storage.repositories import ChatRepository, UsageRepository, UserRepository
from bot.telegram.access import AccessPolicy
from bot.telegram.admission import AdmissionMiddleware, Gatekeeper, Standing
from bot.telegram.chatqueue import HANDLING, ChatQueues
from bot.telegram.intake import Intake
from bot.telegram.notices import PersonalNotices
from bot.telegram.notifier import Notifier
from bot.telegram.ratelimit import RateLimiter, whole_seconds
from bot.telegram.texts import Translator

log = logging.getLogger(__name__)

Handler = Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]]


class OrderingMiddleware(BaseMiddleware):
    def __init__(self, queues: ChatQueues, intake: Intake) -> None:
        self.queues = queues
        self.intake = intake

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        assert isinstance(event, Update)
        arrival = self.intake.take(event.update_id)
        if arrival is None:
            log.info("update %s was not accepted by the intake (a duplicate); dropped",
                     event.update_id)
            return None
        receipt = arrival.receipt
        # Handlers pass `receipts` to the use case whose transaction stores the effect;
        # `arrived_at` times the parts of one question (gathering.py).
        data["receipts"] = (receipt,) if receipt is not None else ()
        data["arrived_at"] = arrival.at
        chat: Chat | None = data.get("event_chat")
        # A connected account's chat keeps its order too (the owner's message before the
        # customer's next one): its feature runs each as a job of that chat's queue. So does
        # an edited question, answered anew after what the chat has queued (handlers/chat.py).
        if (event.message is None and event.edited_message is None
                and event.business_message is None) or chat is None:
            return await handler(event, data)
        ticket = self.queues.take(chat.id)
        if receipt is not None:
            # Settled here unless the job's own transaction did (then this is a no-op).
            ticket.on_done = lambda: self.intake.settle(receipt)
        data["ticket"] = ticket
        handling = HANDLING.set(ticket)
        try:
            return await handler(event, data)
        finally:
            HANDLING.reset(handling)
            ticket.release()  # no-op when the handler submitted a job


def on_behalf(update: Update) -> bool:
    """An update from a chat of an account connected to the bot (a business message)."""
    return (update.business_message is not None
            or update.edited_business_message is not None
            or update.deleted_business_messages is not None)


@dataclass(frozen=True, slots=True)
class KnownUser:
    signature: tuple[object, ...]
    until: float
    blocked: bool
    admin: bool
    language: str | None


class RecentlySeen:
    """Users and chats upserted in the last `ttl` seconds with the same names, so the next
    update from them skips two upserts (about half the bookkeeping CPU of an update).

    Flags set behind the bot's back (blocked, role) take effect within `ttl`; /forget calls
    `forget` so the user's row is written again at once.
    """

    def __init__(
        self,
        ttl: float = 30.0,
        clock: Callable[[], float] = loop_time,
        policy: AccessPolicy | None = None,
    ) -> None:
        self.policy = policy or AccessPolicy()
        self.ttl = ttl
        self.clock = clock
        self._users: dict[int, KnownUser] = {}
        self._chats: dict[int, tuple[tuple[object, ...], float]] = {}
        # Standings read for users not stored lately (outsiders, presses): read, not written.
        self._standings: dict[int, tuple[Standing, float]] = {}

    def standing(self, user_id: int) -> Standing | None:
        """The user's stored standing as read within `ttl` (None: read it again), whatever
        their names: a press or an edit carries the same user."""
        now = self.clock()
        known = self._users.get(user_id)
        if known is not None and known.until >= now:
            return Standing(known.admin, known.blocked)
        read = self._standings.get(user_id)
        if read is not None and read[1] >= now:
            return read[0]
        return None

    def remember_standing(self, user_id: int, standing: Standing) -> None:
        if len(self._standings) > 50_000:
            self._standings.clear()
        self._standings[user_id] = (standing, self.clock() + self.ttl)

    def user(self, user: User) -> KnownUser | None:
        known = self._users.get(user.id)
        if known is None or known.until < self.clock() or known.signature != _signature(user):
            return None
        return known

    def remember_user(self, user: User, row: StoredUser) -> KnownUser:
        if len(self._users) > 50_000:
            self._users.clear()
        known = KnownUser(
            _signature(user),
            self.clock() + self.ttl,
            row.blocked,
            row.role == UserRole.ADMIN,
            row.language,
        )
        self._users[user.id] = known
        return known

    def chat_fresh(self, chat: Chat) -> bool:
        seen = self._chats.get(chat.id)
        return seen is not None and seen[1] >= self.clock() and seen[0] == _chat_signature(chat)

    def remember_chat(self, chat: Chat) -> None:
        if len(self._chats) > 50_000:
            self._chats.clear()
        self._chats[chat.id] = (_chat_signature(chat), self.clock() + self.ttl)

    def forget(self, user_id: int) -> None:
        self._users.pop(user_id, None)
        self._standings.pop(user_id, None)
        self._chats.pop(user_id, None)  # the private chat goes with the user's data

    async def store(
        self, session: AsyncSession, user: User | None, chat: Chat | None
    ) -> KnownUser | None:
        """Upsert the user and the chat unless seen lately, in the session's transaction;
        the user as known now (None without a user)."""
        known = None
        if user is not None and (known := self.user(user)) is None:
            row = await UserRepository(session).upsert(
                user.id, user.first_name, user.last_name, user.username, user.language_code
            )
            known = self.remember_user(user, row)
        if chat is not None and not self.chat_fresh(chat):
            await ChatRepository(session).upsert(chat.id, chat.type, _title(chat))
            self.remember_chat(chat)
        return known

    async def store_senders(self, session: AsyncSession, updates: Sequence[Update]) -> None:
        """The intake's bookkeeping: senders and chats of accepted messages are stored in the
        transaction that claims them (one transaction instead of two per message), so the
        DatabaseMiddleware finds them seen. Other bots and outsiders are left out: they must
        cost no row (AdmissionMiddleware drops them)."""
        for update in updates:
            message = update.message
            if message is None:
                continue
            user = message.from_user
            if user is not None and user.is_bot:
                continue
            if not self.policy.admits(user.id if user else message.chat.id, message.chat.id):
                continue
            await self.store(session, user, message.chat)


class StoredStandings:
    """The gate's `Standings`: a user's stored role and blocked flag, from what the bookkeeping
    saw within its `ttl` (the intake stores a message's sender before the gate runs), else
    read (never written: an outsider must cost no row)."""

    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession], seen: RecentlySeen) -> None:
        self.sessionmaker = sessionmaker
        self.seen = seen

    async def of(self, user_id: int) -> Standing:
        standing = self.seen.standing(user_id)
        if standing is not None:
            return standing
        async with self.sessionmaker() as session:
            row = (await session.execute(
                select(StoredUser.role, StoredUser.blocked).where(StoredUser.id == user_id)
            )).first()
            await session.commit()
        standing = Standing(row.role == UserRole.ADMIN, row.blocked) if row else Standing()
        self.seen.remember_standing(user_id, standing)
        return standing


def _signature(user: User) -> tuple[object, ...]:
    return (user.first_name, user.last_name, user.username, user.language_code)


def _chat_signature(chat: Chat) -> tuple[object, ...]:
    return (chat.type, _title(chat))


def _title(chat: Chat) -> str | None:
    return chat.title if chat.type != "private" else chat.full_name


class DatabaseMiddleware(BaseMiddleware):
    def __init__(
        self, sessionmaker: async_sessionmaker[AsyncSession], seen: RecentlySeen
    ) -> None:
        self.sessionmaker = sessionmaker
        self.seen = seen

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        assert isinstance(event, Update)
        user: User | None = data.get("event_from_user")
        chat: Chat | None = data.get("event_chat")
        async with self.sessionmaker() as session:
            # Usually stored already, by the intake (`store_senders`). A guest query's chat
            # is one the bot is not a member of: nothing of it is stored (its asker is).
            # A chat of a connected account is stored by its feature, apart from the
            # customer's private chat with the bot (the same id).
            stored_chat = chat if event.guest_message is None and not on_behalf(event) else None
            known = await self.seen.store(session, user, stored_chat)
            # Committed at once: no write lock may be held during the handler. Usually
            # nothing was written (the intake stored the senders): then there is nothing to
            # commit, and an empty commit costs a third of the session's CPU.
            if session.in_transaction():
                await session.commit()
            language = user.language_code if user and user.language_code else None
            if language is None and known is not None:
                language = known.language
            data["session"] = session
            data["t"] = Translator.for_code(language)
            result = await handler(event, data)
            if _unfinished(session):
                await session.commit()
            return result


def _unfinished(session: AsyncSession) -> bool:
    """Whether `commit` would do anything: a transaction begun, or objects added, changed
    or deleted since the last commit (a commit flushes those first)."""
    return bool(session.in_transaction() or session.new or session.dirty or session.deleted)


class QuotaMiddleware(BaseMiddleware):
    """See the module docstring; admins are exempt."""

    def __init__(
        self,
        limiter: RateLimiter,
        notify: Notifier,
        *,
        daily_tokens: int,
        notices: PersonalNotices | None = None,
    ) -> None:
        self.limiter = limiter
        self.notify = notify
        self.notices = notices  # in groups, the notices go to the member alone
        self.daily_tokens = daily_tokens
        self._told: dict[int, float] = {}

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        kind = get_flag(data, "quota", default="reply")
        if kind == "free" or data.get("is_admin") or not isinstance(event, Message):
            return await handler(event, data)
        if data.get("replayed"):
            # Admitted before the restart that replays it: counting it again could refuse it.
            return await handler(event, data)
        user = event.from_user
        if user is None:
            return await handler(event, data)
        t: Translator = data["t"]
        thread = event.message_thread_id if event.is_topic_message else None
        wait = await self.limiter.check(user.id)
        if wait:
            log.info("user %s rate limited for %.1f s", user.id, wait)
            # One notice per window, so a flood of messages does not become a flood of replies.
            if self.limiter.first_refusal(user.id):
                text = t("rate_limited", seconds=whole_seconds(wait))
                await self._tell(event, text, thread)
            return None
        if kind != "text" or not self.daily_tokens:
            return await handler(event, data)
        session: AsyncSession = data["session"]
        used = (await UsageRepository(session).for_user(user.id, utc_today())).tokens
        await session.commit()
        if used >= self.daily_tokens:
            await self._tell(event, t("token_budget", limit=self.daily_tokens), thread)
            return None
        return await handler(event, data)

    async def _tell(self, event: Message, text: str, thread: int | None) -> None:
        user = event.from_user
        if self.notices is None or user is None:
            await self.notify(event.chat.id, text, reply_to=event.message_id, thread_id=thread)
            return
        await self.notices.tell(event.chat.id, event.chat.type, user.id, text,
                                reply_to=event.message_id, thread_id=thread)


def install_middlewares(
    dp: Dispatcher,
    *,
    queues: ChatQueues,
    intake: Intake,
    gate: Gatekeeper,
    sessionmaker: async_sessionmaker[AsyncSession],
    notify: Notifier,
    seen: RecentlySeen,
    notices: PersonalNotices | None = None,
) -> None:
    dp.update.outer_middleware(OrderingMiddleware(queues, intake))
    dp.update.outer_middleware(AdmissionMiddleware(gate, notify, notices))
    dp.update.outer_middleware(DatabaseMiddleware(sessionmaker, seen))
