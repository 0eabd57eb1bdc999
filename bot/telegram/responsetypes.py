"""Keep aiogram's parametrized ``Response[T]`` models alive for the life of the bot.

aiogram's session validates every Bot API answer with ``Response[method.__returning__]``
(aiogram/client/session/base.py, ``check_response``). pydantic caches parametrized generic
models in a ``WeakValueDictionary`` (pydantic/_internal/_generics.py, ``_GENERIC_TYPES_CACHE``),
and a model class sits in reference cycles, so nothing keeps it alive between two calls: each
time the garbage collector runs, ``Response[bool]`` and ``Response[Message]`` are freed and the
next call builds them again, 2-10 ms of CPU each (measured with py-spy under bench/bench_load.py:
about a sixth of the bot's CPU per streamed answer). Holding one strong reference per answer
type makes every later lookup a cache hit (about 1 µs).

The pins live in this module, not in one middleware: the start-up warm-up (warmup.py) builds
the answers every turn validates, and the session's middleware must find those same classes.
"""

from __future__ import annotations

from typing import Any

from aiogram import Bot
from aiogram.client.session.middlewares.base import (
    BaseRequestMiddleware,
    NextRequestMiddlewareType,
)
from aiogram.methods import Response, TelegramMethod
from aiogram.methods.base import TelegramType

# T -> Response[T], for the life of the process.
_PINNED: dict[Any, Any] = {}


def pinned(returning: Any) -> Any:
    """``Response[returning]``, kept alive from now on."""
    model = _PINNED.get(returning)
    if model is None:
        model = _PINNED[returning] = Response[returning]
    return model


class PinResponseTypes(BaseRequestMiddleware):
    """A request middleware that keeps ``Response[T]`` alive for every ``T`` the bot has seen."""

    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: Bot,
        method: TelegramMethod[TelegramType],
    ) -> Response[TelegramType]:
        pinned(method.__returning__)
        return await make_request(bot, method)
