"""Keep aiogram's answer models alive, and build the ones every bot uses before it polls.

aiogram's session validates every Bot API answer with ``Response[method.__returning__]``
(aiogram/client/session/base.py, ``check_response``). pydantic caches parametrized generic
models in a ``WeakValueDictionary`` (pydantic/_internal/_generics.py, ``_GENERIC_TYPES_CACHE``),
and a model class sits in reference cycles, so nothing keeps it alive between two calls: each
time the garbage collector runs, ``Response[bool]`` and ``Response[Message]`` are freed and the
next call builds them again, 2-10 ms of CPU each (measured with py-spy under bench/bench_load.py:
about a sixth of the bot's CPU per streamed answer). Holding one strong reference per answer
type makes every later lookup a cache hit (about 1 µs).

aiogram's models are built on first use (bot/telegram/lazy_models.py), and a model that nests
``Message`` builds ``Message``'s whole schema inline unless ``Message`` itself is built: the
first getUpdates answer cost 130 ms, the first ``Response[Message]`` another 100, the first
edit 40, each paid by the first users' turns. `build_hot_models` builds, once at start-up,
the models every running bot meets (leaf types first, so the rest reuse their schemas):
about 0.25 s of CPU and 2 MB, instead of about 0.3 s spread over the first answers.
"""

from __future__ import annotations

from typing import Any

from aiogram import Bot
from aiogram.client.session.middlewares.base import (
    BaseRequestMiddleware,
    NextRequestMiddlewareType,
)
from aiogram.methods import (
    DeleteMessage,
    EditMessageText,
    Response,
    SendChatAction,
    SendMessage,
    SendMessageDraft,
    SendPhoto,
    TelegramMethod,
)
from aiogram.methods.base import TelegramType
from aiogram.types import Message, ReplyParameters, Update

# Process-wide, like pydantic's own cache: the types are the same for every bot.
_PINNED: dict[Any, Any] = {}

# Types before the models that nest them; methods the outbox and handlers call through
# aiogram (or build for their exceptions); the answers of getUpdates and of those methods.
HOT_MODELS: tuple[Any, ...] = (
    Message,
    Update,
    ReplyParameters,
    SendMessage,
    SendPhoto,
    EditMessageText,
    SendMessageDraft,
    SendChatAction,
    DeleteMessage,
)
HOT_ANSWERS: tuple[Any, ...] = (list[Update], Message, bool)


def pinned_response(returning: Any) -> Any:
    """``Response[returning]``, kept alive for the life of the process."""
    model = _PINNED.get(returning)
    if model is None:
        model = _PINNED[returning] = Response[returning]
    return model


def build_hot_models() -> None:
    """Build the hot models now (a no-op for those already built)."""
    for model in HOT_MODELS:
        model.model_rebuild()
    for returning in HOT_ANSWERS:
        pinned_response(returning).model_rebuild()


class PinResponseTypes(BaseRequestMiddleware):
    """A request middleware that keeps ``Response[T]`` alive for every ``T`` the bot has seen."""

    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: Bot,
        method: TelegramMethod[TelegramType],
    ) -> Response[TelegramType]:
        returning = method.__returning__
        if returning not in _PINNED:
            pinned_response(returning)
        return await make_request(bot, method)
