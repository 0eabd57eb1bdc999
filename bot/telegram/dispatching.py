"""The Dispatcher of a `TelegramApp`, built from its parts: middlewares and routers, in the
order they must see updates."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from aiogram import Dispatcher

from bot.telegram.handlers import chat, commands, errors, other
from bot.telegram.middlewares import QuotaMiddleware, install_middlewares

if TYPE_CHECKING:
    from aiogram import Router

    from bot.telegram.admission import Gatekeeper
    from bot.telegram.deps import Deps
    from bot.telegram.intake import Intake
    from bot.telegram.ratelimit import RateLimiter


@dataclass(frozen=True, slots=True)
class FeatureRouters:
    """The features' routers, by where they see updates (each list in its order):

    - `front`: right after the errors router, before everything else (the support desk's: a
      user a person owns never reaches the model; or the 👍/👎 buttons');
    - `early`: after fmbot's commands, before the chat handler takes text (their commands:
      /voice, /kb, /image; a press on a tool's card);
    - `late`: after the chat handler (photos, voice notes, documents, the tools' commands).

    `data`: what their handlers get injected by name (aiogram's workflow data)."""

    front: Sequence[Router] = ()
    early: Sequence[Router] = ()
    late: Sequence[Router] = ()
    data: Mapping[str, object] = field(default_factory=dict)


def build_dispatcher(
    deps: Deps,
    *,
    intake: Intake,
    limiter: RateLimiter,
    gate: Gatekeeper,
    features: FeatureRouters | None = None,
    added_routers: Sequence[Router] = (),
) -> Dispatcher:
    """The Dispatcher: middlewares, then the routers in order: errors, the features' front
    ones, the App's, fmbot's commands, the features' early ones, chat, the late ones, other.
    `gate`: who may write, decided once per update (admission.py)."""
    features = features or FeatureRouters()
    data: dict[str, Any] = {"deps": deps, **features.data}
    # No FSM: nothing here is a dialog, and its storage lock would serialise updates.
    dp = Dispatcher(disable_fsm=True, **data)
    install_middlewares(
        dp,
        queues=deps.queues,
        intake=intake,
        gate=gate,
        sessionmaker=deps.sessionmaker,
        notify=deps.notify,
        seen=deps.seen,
        notices=deps.notices,
    )
    quota = QuotaMiddleware(
        limiter,
        deps.notify,
        daily_tokens=deps.options.daily_token_limit,
        notices=deps.notices,
    )
    quoted = [commands.build_router(), *features.early, chat.build_router(), *features.late,
              other.build_router()]
    for router in quoted:
        router.message.middleware(quota)
        router.edited_message.middleware(quota)  # an edit answered anew counts as a message
    if added_routers:
        # The App's routers: before fmbot's commands (an App may give its own
        # /start or /help) and the model's chat handler, after the front ones (a user a
        # person owns stays with the person), inside the same middlewares and rate limit.
        from bot.telegram.added import added_router

        quoted.insert(0, added_router(added_routers, [quota]))
    # errors first (it only sees errors); other last (it takes what nobody else did).
    dp.include_routers(errors.build_router(), *features.front, *quoted)
    return dp
