"""Update middlewares, outermost first (see `install_middlewares`):

1. OrderingMiddleware - a message takes its place in its chat's FIFO before any await.
2. AccessMiddleware - drops other bots; outsiders get one refusal and cost nothing (no DB row,
   no model call).
3. DatabaseMiddleware - claims the update id (exactly once), upserts user and chat, drops
   blocked users, injects `session`, `db_user`, `t` (texts in the user's language), `is_admin`.
4. QuotaMiddleware (inner, on handlers flagged `quota`) - per-minute rate limit and daily
   token / image budgets.

On SQLite every transaction starts with BEGIN IMMEDIATE (bot/storage/database.py), so the
bookkeeping is committed before the handler runs, and a handler that touches `session`
holds the write lock until it returns: handlers never call services while holding it.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from aiogram import Dispatcher
from aiogram.dispatcher.flags import get_flag
from aiogram.dispatcher.middlewares.base import BaseMiddleware
from aiogram.types import Chat, Message, TelegramObject, Update, User
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.storage.models import UserRole
from bot.storage.repositories import (
    ChatRepository,
    UpdateRepository,
    UsageRepository,
    UserRepository,
)
from bot.telegram.access import AccessPolicy, RefusalMemory
from bot.telegram.chatqueue import ChatQueues
from bot.telegram.ratelimit import RateLimiter, whole_seconds
from bot.telegram.texts import Translator

log = logging.getLogger(__name__)

Handler = Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]]


class Notifier(Protocol):
    """Sends one plain text message (through the Outbox pacing in production)."""

    async def __call__(
        self, chat_id: int, text: str, *, reply_to: int | None = None, thread_id: int | None = None
    ) -> None: ...


def today() -> dt.date:
    return dt.datetime.now(dt.UTC).date()


class OrderingMiddleware(BaseMiddleware):
    def __init__(self, queues: ChatQueues) -> None:
        self.queues = queues

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        assert isinstance(event, Update)
        chat: Chat | None = data.get("event_chat")
        if event.message is None or chat is None:
            return await handler(event, data)
        ticket = self.queues.take(chat.id)
        data["ticket"] = ticket
        try:
            return await handler(event, data)
        finally:
            ticket.release()  # no-op when the handler submitted a job


class AccessMiddleware(BaseMiddleware):
    def __init__(self, policy: AccessPolicy, notify: Notifier) -> None:
        self.policy = policy
        self.notify = notify
        self.refused = RefusalMemory()

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        assert isinstance(event, Update)
        user: User | None = data.get("event_from_user")
        chat: Chat | None = data.get("event_chat")
        if user is not None and user.is_bot:
            log.debug("update %s from bot %s ignored", event.update_id, user.id)
            return None
        user_id = user.id if user else (chat.id if chat and chat.type == "private" else None)
        chat_id = chat.id if chat else None
        if self.policy.admits(user_id, chat_id):
            return await handler(event, data)
        key = chat_id if chat is not None and chat.type != "private" else user_id
        log.info("update %s refused: user %s chat %s", event.update_id, user_id, chat_id)
        if event.message is not None and key is not None and self.refused.first_time(key):
            t = Translator.for_code(user.language_code if user else None)
            await self.notify(event.message.chat.id, t("access_refused"))
        return None


class DatabaseMiddleware(BaseMiddleware):
    def __init__(
        self, sessionmaker: async_sessionmaker[AsyncSession], policy: AccessPolicy
    ) -> None:
        self.sessionmaker = sessionmaker
        self.policy = policy

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        assert isinstance(event, Update)
        user: User | None = data.get("event_from_user")
        chat: Chat | None = data.get("event_chat")
        bot_id = data["bot"].id
        async with self.sessionmaker() as session:
            # Committed at once: a duplicate delivered while this one is being answered must
            # see the claim, and no write lock may be held during the handler.
            if not await UpdateRepository(session, bot_id).claim(event.update_id):
                await session.rollback()
                log.info("duplicate update %s dropped", event.update_id)
                return None
            db_user = None
            if user is not None:
                db_user = await UserRepository(session).upsert(
                    user.id, user.first_name, user.last_name, user.username, user.language_code
                )
            if chat is not None:
                title = chat.title if chat.type != "private" else chat.full_name
                await ChatRepository(session).upsert(chat.id, chat.type, title)
            await session.commit()
            if db_user is not None and db_user.blocked:
                log.info("update %s from blocked user %s ignored", event.update_id, user)
                return None
            language = user.language_code if user and user.language_code else None
            if language is None and db_user is not None:
                language = db_user.language
            data["session"] = session
            data["db_user"] = db_user
            data["t"] = Translator.for_code(language)
            data["is_admin"] = self.policy.is_admin(user.id if user else None) or (
                db_user is not None and db_user.role == UserRole.ADMIN
            )
            result = await handler(event, data)
            await session.commit()
            return result


class QuotaMiddleware(BaseMiddleware):
    """Applies to handlers flagged `quota="text"` or `quota="image"`; admins are exempt."""

    def __init__(
        self, limiter: RateLimiter, notify: Notifier, *, daily_tokens: int, daily_images: int
    ) -> None:
        self.limiter = limiter
        self.notify = notify
        self.daily_tokens = daily_tokens
        self.daily_images = daily_images
        self._told: dict[int, float] = {}

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        kind = get_flag(data, "quota")
        if kind is None or data.get("is_admin") or not isinstance(event, Message):
            return await handler(event, data)
        user = event.from_user
        if user is None:
            return await handler(event, data)
        t: Translator = data["t"]
        thread = event.message_thread_id if event.is_topic_message else None
        wait = self.limiter.hit(user.id)
        if wait:
            log.info("user %s rate limited for %.1f s", user.id, wait)
            # One notice per window, so a flood of messages does not become a flood of replies.
            if self.limiter.first_refusal(user.id):
                text = t("rate_limited", seconds=whole_seconds(wait))
                await self.notify(event.chat.id, text, reply_to=event.message_id, thread_id=thread)
            return None
        limit = self.daily_tokens if kind == "text" else self.daily_images
        if limit:
            session: AsyncSession = data["session"]
            usage = await UsageRepository(session).for_user(user.id, today())
            await session.commit()
            used = usage.tokens if kind == "text" else usage.images
            if used >= limit:
                key = "token_budget" if kind == "text" else "image_budget"
                await self.notify(
                    event.chat.id, t(key, limit=limit), reply_to=event.message_id, thread_id=thread
                )
                return None
        return await handler(event, data)


def install_middlewares(
    dp: Dispatcher,
    *,
    queues: ChatQueues,
    policy: AccessPolicy,
    sessionmaker: async_sessionmaker[AsyncSession],
    notify: Notifier,
) -> None:
    dp.update.outer_middleware(OrderingMiddleware(queues))
    dp.update.outer_middleware(AccessMiddleware(policy, notify))
    dp.update.outer_middleware(DatabaseMiddleware(sessionmaker, policy))
