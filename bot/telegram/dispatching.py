"""The Dispatcher of a `TelegramApp`, built from its parts: middlewares and routers, in the
order they must see updates."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from aiogram import Dispatcher

from bot.telegram.handlers import (
    chat,
    commands,
    documents,
    errors,
    images,
    kb,
    media,
    other,
    toolcalls,
    tools,
    voice,
)
from bot.telegram.middlewares import QuotaMiddleware, install_middlewares

if TYPE_CHECKING:
    from aiogram import Router

    from bot.telegram.access import AccessPolicy
    from bot.telegram.deps import Deps
    from bot.telegram.desk import SupportDesk
    from bot.telegram.feedback import AnswerFeedback
    from bot.telegram.intake import Intake
    from bot.telegram.ratelimit import RateLimiter


def build_dispatcher(
    deps: Deps,
    *,
    intake: Intake,
    limiter: RateLimiter,
    members_of: int = 0,
    member_lists: AccessPolicy | None = None,
    desk: SupportDesk | None = None,
    feedback: AnswerFeedback | None = None,
    added_routers: Sequence[Router] = (),
) -> Dispatcher:
    """The Dispatcher: middlewares, routers in order, the desk's when it is on."""
    data: dict[str, Any] = {"deps": deps}
    if desk is not None:
        data["desk"] = desk
    elif feedback is not None:  # 👍/👎 without a desk (KB_MODE=strict)
        data["feedback"] = feedback
    # No FSM: nothing here is a dialog, and its storage lock would serialise updates.
    dp = Dispatcher(disable_fsm=True, **data)
    install_middlewares(
        dp,
        queues=deps.queues,
        intake=intake,
        policy=deps.policy,
        sessionmaker=deps.sessionmaker,
        notify=deps.notify,
        seen=deps.seen,
    )
    quota = QuotaMiddleware(
        limiter,
        deps.notify,
        daily_tokens=deps.options.daily_token_limit,
        daily_images=deps.options.daily_image_limit,
    )
    handlers = (errors, commands, voice, kb, toolcalls, images, chat, media, documents, tools,
                other)
    routers = [m.build_router() for m in handlers]
    for router in routers[1:]:
        router.message.middleware(quota)
    if added_routers:
        # The App's routers: before fmbot's commands (an App may give its own
        # /start or /help) and the model's chat handler, after the desk's (a user a person
        # owns stays with the person), inside the same middlewares and rate limit (added.py).
        from bot.telegram.added import added_router

        routers.insert(1, added_router(added_routers, [quota]))
    if members_of:  # the membership gate, after the database middleware
        from bot.telegram.membership import MembershipCache, MembershipMiddleware

        assert member_lists is not None
        support = desk.chat_id if desk is not None else 0
        gate = MembershipMiddleware(
            MembershipCache(members_of), member_lists, deps.notify, support
        )
        dp.update.outer_middleware(gate)
    # The support desk's router right after errors: a user a person owns never reaches the
    # model.
    if desk is not None:
        from bot.telegram.handlers import desk as desk_handlers

        routers.insert(1, desk_handlers.build_router(desk.chat_id))
    elif feedback is not None:
        from bot.telegram import feedback as feedback_handlers

        routers.insert(1, feedback_handlers.build_router())
    # errors first (it only sees errors); other last (it takes what nobody else did).
    dp.include_routers(*routers)
    return dp
