"""Tools: the presses on a confirmation card, and the sweep of expired ones.

A press is decided by one atomic change of the stored call (any replica, after any
restart); the turn then goes on in the chat's queue and streams its answer as usual.
"""

from __future__ import annotations

import asyncio
import logging

from aiogram import F, Router
from aiogram.exceptions import TelegramAPIError
from aiogram.methods import EditMessageReplyMarkup, EditMessageText
from aiogram.types import CallbackQuery, Message, MessageEntity

from bot.features.tools.cards import PREFIX, parse
from bot.features.tools.loop import ToolLoop
from bot.features.tools.turns import Decision, DecisionKind
from bot.plugin.conversation import ChatRef, Speaker
from bot.plugin.storage import Chat, User, UserRole
from bot.plugin.telegram import BotRun, BotService, Deps, OutboxError, Target, Ticket, Translator

log = logging.getLogger(__name__)

NOTES = {
    DecisionKind.CONFIRMED: ("✅", "tool_confirmed"),
    DecisionKind.DECLINED: ("✖", "tool_cancelled"),
    DecisionKind.EXPIRED: ("⌛", "tool_expired"),
}


class ToolPresses:
    """The presses on confirmation cards, decided by the tool loop (None: tools are off, a
    press on an old card is only answered)."""

    def __init__(self, tools: ToolLoop | None) -> None:
        self.tools = tools

    async def handle(
        self, query: CallbackQuery, deps: Deps, t: Translator, is_admin: bool = False
    ) -> None:
        await handle_tool_press(query, deps, t, self.tools, is_admin=is_admin)

    def build_router(self) -> Router:
        router = Router(name=__name__)
        router.callback_query.register(self.handle, F.data.startswith(PREFIX))
        return router


async def handle_tool_press(
    query: CallbackQuery, deps: Deps, t: Translator, tools: ToolLoop | None, *,
    is_admin: bool = False,
) -> None:
    """`is_admin`: the press's own decision (the Principal's): only the asker may press, so
    the turn carried on is theirs."""
    parsed = parse(query.data or "")
    message = query.message
    if parsed is None or tools is None or message is None:
        await query.answer()
        return
    chat = message.chat
    # Taken before the first await, so the turn carried on keeps its place in the chat.
    ticket = deps.queues.take(chat.id)
    try:
        confirmed, call_id = parsed
        decision = await tools.decide(call_id, confirmed=confirmed, by=query.from_user.id,
                                      card=(chat.id, message.message_id))
        log.info("tool call %s in chat %s: %s", call_id, chat.id, decision.kind.value)
        if decision.kind in (DecisionKind.NOT_YOURS, DecisionKind.ELSEWHERE):
            # For the presser alone (in a group, an ephemeral message); the card untouched.
            key = "tool_not_yours" if decision.kind is DecisionKind.NOT_YOURS else (
                "tool_not_this_card")
            if deps.notices is not None:
                await deps.notices.answer_press(query, t(key))
            else:
                await query.answer(t(key), show_alert=True)
            return
        mark, key = NOTES.get(decision.kind, ("", "tool_already"))
        await query.answer(t(key))
        if decision.kind is DecisionKind.ALREADY:
            return  # the first press already closed the card: a second one only hears so
        text = message.text if isinstance(message, Message) else None
        entities = message.entities if isinstance(message, Message) else None
        await _close_card(deps, chat.id, message.message_id, text, f"{mark} {t(key)}".strip(),
                          entities)
        if decision.ready and decision.answer_id is not None:
            user = query.from_user
            private = chat.type == "private"
            thread = message.message_thread_id if isinstance(message, Message) else None
            target = Target(
                ChatRef(chat.id, chat.type, None if private else chat.title),
                reply_to=None if private else message.message_id,
                thread_id=thread if isinstance(message, Message) and message.is_topic_message
                else None,
            )
            who = Speaker(user.id, user.full_name, user.language_code, is_admin=is_admin)
            await _carry_on(deps, tools, ticket, target, who, t, decision.answer_id)
    finally:
        ticket.release()  # a no-op once a job was submitted


async def _carry_on(
    deps: Deps, tools: ToolLoop, ticket: Ticket, target: Target, who: Speaker, t: Translator,
    answer_id: int,
) -> None:
    """One process: the turn goes on in the chat's queue here. Several replicas: the holder
    of the chat's lease answers it, as a turn cut short (the stored calls carry over), so no
    two replicas ever run one chat's turns at once."""
    if deps.replicas is not None:
        reopened = await tools.reopen_for_resume(answer_id)
        if reopened is not None:  # None: not the chat's last question; carried on here
            ticket.release()
            if reopened:
                deps.replicas.offer(target.chat.chat_id)
            return
    deps.answers.submit_continue(ticket, target, who, t, answer_id)


async def _close_card(
    deps: Deps, chat_id: int, message_id: int, text: str | None, note: str,
    entities: list[MessageEntity] | None = None,
) -> None:
    """The card says what happened and loses its buttons (nothing is lost if it fails); its
    folded arguments stay folded (`entities`)."""
    method: EditMessageText | EditMessageReplyMarkup
    if text:
        method = EditMessageText(chat_id=chat_id, message_id=message_id,
                                 text=f"{text}\n\n{note}", entities=entities or None,
                                 parse_mode=None, reply_markup=None)
    else:
        method = EditMessageReplyMarkup(chat_id=chat_id, message_id=message_id,
                                        reply_markup=None)
    try:
        await deps.outbox.call(chat_id, method)
    except (TelegramAPIError, OutboxError) as exc:
        log.info("chat %s: the confirmation card %s was not updated: %s",
                 chat_id, message_id, exc)


class ToolExpiry(BotService):
    """Confirmations nobody pressed in time expire, and their turns go on, checked every
    quarter of TOOLS_CONFIRM_TTL (at most every 30 s)."""

    def __init__(self, deps: Deps, tools: ToolLoop) -> None:
        self.deps = deps
        self.tools = tools

    async def ready(self, run: BotRun) -> None:
        if self.tools.toolbox:
            interval = min(30.0, max(0.05, self.tools.settings.confirm_ttl / 4))
            run.spawn(expire_forever(self.deps, self.tools, interval), "tool-expiry")


async def expire_forever(deps: Deps, tools: ToolLoop, interval: float) -> None:
    """Every `interval` seconds: confirmations nobody pressed in time expire, and their turns
    go on (the model is told, and answers)."""
    while True:
        await asyncio.sleep(interval)
        try:
            for decision in await tools.expire_due():
                await _carry_on_expired(deps, tools, decision)
        except Exception:
            log.exception("the sweep of expired confirmations failed; retrying")


async def _carry_on_expired(deps: Deps, tools: ToolLoop, decision: Decision) -> None:
    async with deps.sessionmaker() as session:
        chat = await session.get(Chat, decision.chat_id)
        user = await session.get(User, decision.user_id)
        await session.commit()
    if chat is None or decision.answer_id is None:
        return  # erased meanwhile
    t = Translator.for_code(user.language if user else None)
    if decision.message_id is not None:
        await _close_card(deps, chat.id, decision.message_id, None, "")
    ticket = deps.queues.take(chat.id)
    name = user.first_name if user else ""
    target = Target(ChatRef(chat.id, chat.type, chat.title if chat.type != "private" else None))
    # No update carries this turn on: its asker is judged again by the one rule.
    admin = deps.policy.is_admin(decision.user_id,
                                 stored_admin=user is not None and user.role == UserRole.ADMIN)
    speaker = Speaker(decision.user_id, name, user.language if user else None, is_admin=admin)
    await _carry_on(deps, tools, ticket, target, speaker, t, decision.answer_id)
