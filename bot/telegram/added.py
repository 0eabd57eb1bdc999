"""The developer's and plugins' routers (`App.include_router`), inside fmbot's guarantees.

They are included in one router of their own, placed before the model's chat handler, so
every update they handle has passed the update middlewares (the durable queue and its
ordering, access lists, one database session per update) and the errors router turns what
they raise into a short apology and a logged traceback. The per-minute rate limit applies to
their message handlers (`quota="free"` flag to opt out, as /stop does).

Their Bot API calls (`message.answer`, `bot.send_photo`...) are made through the outbox
(`PacedCalls`): paced per chat and bot-wide like fmbot's own, a `retry_after` waited out
instead of raised. Only calls made while one of their handlers runs are routed: a context
variable marks that scope (`AddedScope`), and the outbox's own lane tasks clear it
(outbox/runner.py), so a call the outbox makes is never routed back into it.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextvars import ContextVar
from typing import Any

from aiogram import Bot, Router
from aiogram.client.session.middlewares.base import (
    BaseRequestMiddleware,
    NextRequestMiddlewareType,
)
from aiogram.dispatcher.middlewares.base import BaseMiddleware
from aiogram.exceptions import TelegramAPIError
from aiogram.methods import TelegramMethod
from aiogram.methods.base import TelegramType
from aiogram.types import TelegramObject

from bot.telegram.middlewares import Handler
from bot.telegram.outbox import ChatUnreachableError, Outbox

# True while a handler of an added router runs (and in what it awaits).
IN_ADDED_PART: ContextVar[bool] = ContextVar("fmbot_in_added_part", default=False)
# Calls that send or change messages: the ones Telegram's flood limits count.
PACED_PREFIXES = ("send", "edit", "copy", "forward", "delete", "pin", "unpin", "stop")
NOT_EVENTS = frozenset({"update", "error"})


class AddedScope(BaseMiddleware):
    """Marks the handlers of added routers, so their Bot API calls go through the outbox."""

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        token = IN_ADDED_PART.set(True)
        try:
            return await handler(event, data)
        finally:
            IN_ADDED_PART.reset(token)


class PacedCalls(BaseRequestMiddleware):
    """Routes the added routers' message calls through the outbox (see the module docstring)."""

    def __init__(self, outbox: Outbox) -> None:
        self.outbox = outbox

    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: Bot,
        method: TelegramMethod[TelegramType],
    ) -> Any:
        from bot.telegram.outbox.runner import IN_OUTBOX

        chat_id = getattr(method, "chat_id", None)
        if (
            not IN_ADDED_PART.get()
            or IN_OUTBOX.get()
            or not isinstance(chat_id, int)
            or not method.__api_method__.startswith(PACED_PREFIXES)
        ):
            return await make_request(bot, method)
        try:
            return await self.outbox.call(chat_id, method)
        except ChatUnreachableError as exc:
            # The developer's code sees what aiogram raises (TelegramForbiddenError...).
            if isinstance(exc.__cause__, TelegramAPIError):
                raise exc.__cause__ from None
            raise


def added_router(routers: Sequence[Router], message_middlewares: Sequence[Any]) -> Router:
    """One router holding `routers`, with the scope marker on every event it handles and
    `message_middlewares` (the rate limit) on its message handlers (inner middlewares are
    inherited by the routers included in it)."""
    parent = Router(name="fmbot.added")
    scope = AddedScope()
    for name, observer in parent.observers.items():
        if name not in NOT_EVENTS:
            observer.middleware(scope)
    for middleware in message_middlewares:
        parent.message.middleware(middleware)
    parent.include_routers(*routers)
    return parent
