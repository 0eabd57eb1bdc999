"""Tools: the presses on a confirmation card, and the sweep of expired ones.

A press is decided by one atomic change of the stored call (any replica, after any
restart); the turn then goes on in the chat's queue and streams its answer as usual.
"""

from __future__ import annotations

import asyncio
import logging

from aiogram import F, Router
from aiogram.exceptions import TelegramAPIError
from aiogram.methods import EditMessageReplyMarkup, EditMessageText, SendMessage
from aiogram.types import CallbackQuery, Message, MessageEntity, ReplyParameters

from bot.features.tools.approvals import ask_approvers
from bot.features.tools.cards import PREFIX, parse
from bot.features.tools.decisions import Decision, DecisionKind
from bot.features.tools.loop import ToolLoop
from bot.plugin.conversation import ChatRef, Employee, Speaker
from bot.plugin.storage import Chat, User, UserRole
from bot.plugin.telegram import BotRun, BotService, Deps, OutboxError, Target, Ticket, Translator

log = logging.getLogger(__name__)

NOTES = {
    DecisionKind.CONFIRMED: ("✅", "tool_confirmed"),
    DecisionKind.DECLINED: ("✖", "tool_cancelled"),
    DecisionKind.EXPIRED: ("⌛", "tool_expired"),
}
# Presses that change nothing, each told to the presser alone.
REFUSED = {
    DecisionKind.NOT_YOURS: "tool_not_yours",
    DecisionKind.ELSEWHERE: "tool_not_this_card",
    DecisionKind.NOT_APPROVER: "tool_not_approver",
    DecisionKind.OWN_REQUEST: "tool_own_request",
}


class ToolPresses:
    """The presses on confirmation cards, decided by the tool loop (None: tools are off, a
    press on an old card is only answered)."""

    def __init__(self, tools: ToolLoop | None) -> None:
        self.tools = tools

    async def handle(
        self, query: CallbackQuery, deps: Deps, t: Translator, is_admin: bool = False,
        employee: Employee | None = None,
    ) -> None:
        await handle_tool_press(query, deps, t, self.tools, is_admin=is_admin,
                                employee=employee)

    def build_router(self) -> Router:
        router = Router(name=__name__)
        router.callback_query.register(self.handle, F.data.startswith(PREFIX))
        return router


async def handle_tool_press(
    query: CallbackQuery, deps: Deps, t: Translator, tools: ToolLoop | None, *,
    is_admin: bool = False, employee: Employee | None = None,
) -> None:
    """`is_admin`, `employee`: the press's own decision (the Principal's): only the asker
    may press a confirmation, so the turn carried on is theirs. A request someone else
    approves goes on as its asker's, in their chat."""
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
        decision = await tools.decisions.decide(
            call_id, confirmed=confirmed, by=query.from_user.id,
            card=(chat.id, message.message_id))
        log.info("tool call %s in chat %s: %s", call_id, chat.id, decision.kind.value)
        if decision.approvers and decision.kind not in REFUSED:
            ticket.release()  # the turn goes on in the asker's chat, not this one
            await _approval_decided(deps, tools, decision, query, t)
            return
        if decision.kind in REFUSED:
            # For the presser alone (in a group, an ephemeral message); the card untouched.
            key = REFUSED[decision.kind]
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
            who = Speaker(user.id, user.full_name, user.language_code, is_admin=is_admin,
                          employee=employee)
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
        reopened = await tools.turns.reopen_for_resume(answer_id)
        if reopened is not None:  # None: not the chat's last question; carried on here
            ticket.release()
            if reopened:
                deps.replicas.offer(target.chat.chat_id)
            return
    deps.answers.submit_continue(ticket, target, who, t, answer_id)


async def _note_card(
    deps: Deps, chat_id: int, message_id: int, mark: str, key: str, who: str = "",
    *, what: str = "",
) -> None:
    """An approvers' card (in its reader's language, in another chat than the asker's)
    loses its buttons, and a note under it says what happened."""
    reader = await _reader(deps, chat_id)
    try:
        await deps.outbox.call(chat_id, EditMessageReplyMarkup(
            chat_id=chat_id, message_id=message_id, reply_markup=None))
    except (TelegramAPIError, OutboxError) as exc:
        log.info("chat %s: the approvers' card %s keeps its buttons: %s", chat_id,
                 message_id, exc)
    await _tell(deps, chat_id, f"{mark}{reader(key, who=who, what=what)}", reply_to=message_id)


async def _reader(deps: Deps, chat_id: int) -> Translator:
    """The language of a private chat's user (a card sent to an approver is in theirs)."""
    async with deps.sessionmaker() as session:
        user = await session.get(User, chat_id)
        await session.commit()
    return Translator.for_code(user.language if user is not None else None)


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


async def _approval_decided(
    deps: Deps, tools: ToolLoop, decision: Decision, query: CallbackQuery, t: Translator
) -> None:
    """An approver's press on a request: the first decision closes every approvers' card
    (saying who decided), the asker is told in their chat and their turn goes on there (the
    action runs, or the model hears it was denied); a later press only hears who decided."""
    if decision.kind is DecisionKind.ALREADY:
        await query.answer(t("tool_decided_by", who=decision.by_name or "?"))
        return
    if decision.kind is DecisionKind.EXPIRED:
        await query.answer(t("tool_approval_expired"))
        return  # the sweep closes the cards, tells the asker and carries the turn on
    approved = decision.kind is DecisionKind.CONFIRMED
    who = decision.by_name or query.from_user.full_name
    key = "tool_approved_by" if approved else "tool_denied_by"
    await query.answer(t(key, who=who))
    mark = "✅" if approved else "✖"
    for card_chat, message_id in decision.cards:
        await _note_card(deps, card_chat, message_id, f"{mark} ", key, who)
    stored = await _stored(deps, tools, decision)
    if stored is None:
        return
    chat, asker_t, speaker = stored
    what = _what(tools, decision.name, asker_t)
    told = "tool_request_approved" if approved else "tool_request_denied"
    await _tell(deps, chat.id, asker_t(told, what=what, who=who))
    if decision.ready and decision.answer_id is not None:
        target = Target(ChatRef(chat.id, chat.type,
                                chat.title if chat.type != "private" else None))
        ticket = deps.queues.take(chat.id)
        try:
            await _carry_on(deps, tools, ticket, target, speaker, asker_t, decision.answer_id)
        finally:
            ticket.release()


def _what(tools: ToolLoop, name: str, t: Translator) -> str:
    definition = tools.toolbox.declared(name)
    return definition.title_in(t.language) if definition is not None else name


async def _stored(
    deps: Deps, tools: ToolLoop, tools_decision: Decision
) -> tuple[Chat, Translator, Speaker] | None:
    """The asker's chat, language and speaker, as stored (no update carries this turn on:
    the asker is judged again by the one rule, and who they are read now)."""
    async with deps.sessionmaker() as session:
        chat = await session.get(Chat, tools_decision.chat_id)
        user = await session.get(User, tools_decision.user_id)
        await session.commit()
    if chat is None:
        return None  # erased meanwhile
    t = Translator.for_code(user.language if user else None)
    admin = deps.policy.is_admin(tools_decision.user_id,
                                 stored_admin=user is not None and user.role == UserRole.ADMIN)
    employee = None
    if tools.directory is not None:
        employee = await tools.directory.employee(tools_decision.user_id)
    speaker = Speaker(tools_decision.user_id, user.first_name if user else "",
                      user.language if user else None, is_admin=admin, employee=employee)
    return chat, t, speaker


async def _tell(deps: Deps, chat_id: int, text: str, *, reply_to: int | None = None) -> None:
    reply = (ReplyParameters(message_id=reply_to, allow_sending_without_reply=True)
             if reply_to is not None else None)
    try:
        await deps.outbox.call(chat_id, SendMessage(chat_id=chat_id, text=text,
                                                    reply_parameters=reply))
    except (TelegramAPIError, OutboxError) as exc:
        log.warning("chat %s: a line about a tool request was not delivered: %s",
                    chat_id, exc)


class ToolExpiry(BotService):
    """Confirmations nobody pressed in time expire, and their turns go on, checked every
    quarter of TOOLS_CONFIRM_TTL (at most every 30 s)."""

    def __init__(self, deps: Deps, tools: ToolLoop) -> None:
        self.deps = deps
        self.tools = tools

    async def ready(self, run: BotRun) -> None:
        if self.tools.toolbox:
            settings = self.tools.settings
            interval = min(30.0, max(0.05, min(settings.confirm_ttl, settings.approval_remind,
                                               settings.approval_expire) / 4))
            run.spawn(expire_forever(self.deps, self.tools, interval), "tool-expiry")


async def expire_forever(deps: Deps, tools: ToolLoop, interval: float) -> None:
    """Every `interval` seconds: the approvers of requests due a reminder are reminded, and
    confirmations and requests nobody decided in time expire, and their turns go on (the
    model is told, and answers). What is due is stored (`remind_at`, `expires_at`), so a
    restart loses none of it, and each is taken once among the replicas."""
    while True:
        await asyncio.sleep(interval)
        try:
            for reminder in await tools.decisions.remind_due():
                await _remind(deps, tools, reminder)
            for decision in await tools.decisions.expire_due():
                await _carry_on_expired(deps, tools, decision)
        except Exception:
            log.exception("the sweep of expired confirmations failed; retrying")


async def _remind(deps: Deps, tools: ToolLoop, reminder: Decision) -> None:
    """Each approvers' card of a request still waiting gets a reminder under it. A request
    with no card at all (the bot stopped between storing it and sending its cards) gets its
    cards now, and its asker is told who decides."""
    if not reminder.cards:
        await _ask_late(deps, tools, reminder)
        return
    asker = ""
    if tools.directory is not None:
        asker = await tools.directory.shown(reminder.user_id)
    if not asker:
        async with deps.sessionmaker() as session:
            user = await session.get(User, reminder.user_id)
            await session.commit()
        asker = user.first_name if user is not None else str(reminder.user_id)
    log.info("tool call %s (%s): its approvers are reminded", reminder.call_id, reminder.name)
    for card_chat, message_id in reminder.cards:
        reader = await _reader(deps, card_chat)
        await _tell(deps, card_chat, reader("tool_approval_reminder", who=asker,
                                            what=_what(tools, reminder.name, reader)),
                    reply_to=message_id)


async def _ask_late(deps: Deps, tools: ToolLoop, reminder: Decision) -> None:
    call = await tools.decisions.waiting_call(reminder.call_id)
    if call is None:
        return  # decided or erased meanwhile
    log.warning("tool call %s (%s): its approvers were never asked (the bot stopped before "
                "its cards were sent): asking them now", reminder.call_id, reminder.name)
    t = await _reader(deps, reminder.user_id)  # the asker's language
    text = await ask_approvers(deps.outbox, tools, call, t)
    await _tell(deps, reminder.chat_id, text)


async def _carry_on_expired(deps: Deps, tools: ToolLoop, decision: Decision) -> None:
    stored = await _stored(deps, tools, decision)
    if stored is None:
        return  # erased meanwhile
    chat, t, speaker = stored
    if decision.message_id is not None:
        await _close_card(deps, chat.id, decision.message_id, None, "")
    if decision.approvers and decision.cards:  # (no cards: the asker was told at once)
        for card_chat, message_id in decision.cards:
            await _note_card(deps, card_chat, message_id, "⌛ ", "tool_approval_expired")
        await _tell(deps, chat.id, t("tool_request_expired",
                                     what=_what(tools, decision.name, t)))
    if not decision.ready or decision.answer_id is None:
        return
    ticket = deps.queues.take(chat.id)
    target = Target(ChatRef(chat.id, chat.type, chat.title if chat.type != "private" else None))
    await _carry_on(deps, tools, ticket, target, speaker, t, decision.answer_id)
