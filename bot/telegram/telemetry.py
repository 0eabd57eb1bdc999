"""Metrics of the Telegram side that need no handler: Bot API calls and 429s by method (a
session middleware, so every call through aiogram's session counts), and updates by kind
(the outermost update middleware, so refused and duplicate updates count too)."""

from __future__ import annotations

from typing import Any

from aiogram import Bot, Dispatcher
from aiogram.client.session.middlewares.base import (
    BaseRequestMiddleware,
    NextRequestMiddlewareType,
)
from aiogram.dispatcher.middlewares.base import BaseMiddleware
from aiogram.exceptions import TelegramRetryAfter
from aiogram.methods import Response, TelegramMethod
from aiogram.methods.base import TelegramType
from aiogram.types import TelegramObject, Update
from aiogram.types.update import UpdateTypeLookupError

from bot.metrics import registry as metrics
from bot.telegram.middlewares import Handler


class CallMetrics(BaseRequestMiddleware):
    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: Bot,
        method: TelegramMethod[TelegramType],
    ) -> Response[TelegramType]:
        name = method.__api_method__
        metrics.telegram_call(name)
        try:
            return await make_request(bot, method)
        except TelegramRetryAfter:
            metrics.telegram_429(name)
            raise


class UpdateMetrics(BaseMiddleware):
    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        if isinstance(event, Update):
            try:
                kind = event.event_type
            except UpdateTypeLookupError:  # a type newer than aiogram: aiogram skips it
                kind = "unknown"
            metrics.update_received(kind)
        return await handler(event, data)


def install_telemetry(bot: Bot, dp: Dispatcher) -> None:
    """Count calls on `bot`'s session and updates before any other middleware sees them."""
    bot.session.middleware(CallMetrics())
    outer = dp.update.outer_middleware
    others = list(outer[:])
    for middleware in others:
        outer.unregister(middleware)
    outer.register(UpdateMetrics())
    for middleware in others:
        outer.register(middleware)
