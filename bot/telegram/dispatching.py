"""The Dispatcher of a `TelegramApp`: middlewares and routers, in the order they must see
updates."""

from __future__ import annotations

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
    from bot.telegram.app import TelegramApp


def build_dispatcher(app: TelegramApp) -> Dispatcher:
    """The app's Dispatcher: middlewares, routers in order, the desk's when it is on."""
    # No FSM: nothing here is a dialog, and its storage lock would serialise updates.
    dp = Dispatcher(disable_fsm=True, deps=app.deps)
    install_middlewares(
        dp,
        queues=app.queues,
        intake=app.intake,
        policy=app.policy,
        sessionmaker=app.sessionmaker,
        notify=app.notify,
        seen=app.seen,
    )
    quota = QuotaMiddleware(
        app.limiter,
        app.notify,
        daily_tokens=app.options.daily_token_limit,
        daily_images=app.options.daily_image_limit,
    )
    handlers = (errors, commands, voice, kb, toolcalls, images, chat, media, documents, tools,
                other)
    routers = [m.build_router() for m in handlers]
    for router in routers[1:]:
        router.message.middleware(quota)
    if app.added_routers:
        # The App's routers: before fmbot's commands (an App may give its own
        # /start or /help) and the model's chat handler, after the desk's (a user a person
        # owns stays with the person), inside the same middlewares and rate limit (added.py).
        from bot.telegram.added import added_router

        routers.insert(1, added_router(app.added_routers, [quota]))
    _add_desk(app, dp, routers)
    # errors first (it only sees errors); other last (it takes what nobody else did).
    dp.include_routers(*routers)
    return dp


def _add_desk(app: TelegramApp, dp: Dispatcher, routers: list[Any]) -> None:
    """Support desk: its router right after errors (a user a person owns never
    reaches the model), the membership gate after the database middleware."""
    if app.members_of:
        from bot.telegram.membership import MembershipCache, MembershipMiddleware

        support = app.desk.chat_id if app.desk is not None else 0
        gate = MembershipMiddleware(
            MembershipCache(app.members_of), app.member_lists, app.notify, support
        )
        dp.update.outer_middleware(gate)
    if app.desk is None:
        if app.feedback is not None:  # 👍/👎 without a desk (KB_MODE=strict)
            from bot.telegram import feedback

            dp["feedback"] = app.feedback
            app.answers.after_answer = app.feedback.after_answer
            routers.insert(1, feedback.build_router())
        return
    from bot.telegram.handlers import desk as desk_handlers

    dp["desk"] = app.desk
    app.answers.after_answer = app.desk.after_answer
    routers.insert(1, desk_handlers.build_router(app.desk.chat_id))
