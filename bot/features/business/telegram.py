"""The Telegram side of chat automation: `business_connection` and `business_message`
updates, the owner's presses and /business.

Telegram sends `business_connection` when a user connects the bot to their account, changes
its rights or switches it off (https://core.telegram.org/bots/api#businessconnection), and
`business_message` for every new message in the chats the bot may see: the customers' and
the owner's own (https://core.telegram.org/bots/api#update). A connection the bot has not
stored (connected before this deployment kept them) is read with getBusinessConnection.

Access: the owner is the bot's user here (ALLOWED_USER_IDS and the rest apply to the owner;
the customers are the owner's contacts). The admission gate (bot/telegram/admission.py) judges
the owner of every business update, found by `owner_of`, before this router sees it; nothing
here decides who may write again. A message sent through the connection by a bot
(`sender_business_bot`: this one's answers) is neither a question nor the owner's takeover.
"""

from __future__ import annotations

import logging

from aiogram import Bot, F, Router
from aiogram.exceptions import TelegramAPIError
from aiogram.filters import Command, CommandObject
from aiogram.methods import EditMessageText, GetBusinessConnection, SendMessage
from aiogram.types import (
    BusinessConnection,
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
)

from bot.features.business.replies import Asked, BusinessReplies, owner_translator
from bot.features.business.store import Connection
from bot.features.business.texts import KINDS, say
from bot.plugin.conversation import Speaker
from bot.plugin.telegram import OutboxError, Principal, Ticket, Translator

log = logging.getLogger(__name__)


class BusinessUpdates:
    def __init__(self, replies: BusinessReplies) -> None:
        self.replies = replies
        self.store = replies.store

    async def owner_of(self, connection_id: str, bot: Bot) -> int | None:
        """The owner of the connection (`ConnectionOwners`, for the admission gate), read from
        the store or, for one connected before it kept them, from Telegram."""
        connection = await self._connection(connection_id, bot)
        return connection.owner_user_id if connection is not None else None

    def build_router(self) -> Router:
        router = Router(name="business")
        router.business_connection.register(self.connection_changed)
        router.business_message.register(self.message)
        router.edited_business_message.register(self.edited)
        router.callback_query.register(self.pressed, F.data.startswith("biz:"))
        router.message.register(self.command, Command("business"), F.chat.type == "private")
        return router

    # -- connections ---------------------------------------------------------------------------

    async def connection_changed(self, connection: BusinessConnection, bot: Bot) -> None:
        before, after = await self._save(connection)
        log.info("business connection %s of user %s: enabled=%s can_reply=%s",
                 after.id, after.owner_user_id, after.enabled, after.can_reply)
        t = owner_translator(after)
        text = None
        if not after.enabled:
            if before is None or before.enabled:
                text = say(t, "disconnected")
        elif not after.can_reply:
            if before is None or before.can_reply or not before.enabled:
                text = say(t, "cannot_reply")
        elif before is None or not before.enabled or not before.can_reply:
            text = self._connected_text(t)
        if text is not None:
            await self._tell(after.user_chat_id, text)

    def _connected_text(self, t: Translator) -> str:
        return say(t, "connected", mode=say(t, f"mode_{self.replies.mode}"),
                   minutes=int(self.replies.takeover.total_seconds() // 60))

    async def _save(self, c: BusinessConnection) -> tuple[Connection | None, Connection]:
        rights = c.rights
        # `can_reply` moved into `rights` (Bot API 9.0); the old field is read when rights
        # are absent.
        can_reply = bool(rights.can_reply) if rights is not None else bool(c.can_reply)
        return await self.store.save_connection(
            c.id, owner_user_id=c.user.id, owner_name=c.user.full_name,
            owner_language=c.user.language_code or "", user_chat_id=c.user_chat_id,
            can_reply=can_reply, enabled=c.is_enabled,
        )

    async def _connection(self, connection_id: str, bot: Bot) -> Connection | None:
        found = await self.store.connection(connection_id)
        if found is not None:
            return found
        try:
            described = await bot(GetBusinessConnection(business_connection_id=connection_id))
        except TelegramAPIError as exc:
            log.warning("business connection %s could not be read: %s", connection_id, exc)
            return None
        return (await self._save(described))[1]

    # -- messages ------------------------------------------------------------------------------

    async def message(
        self, message: Message, bot: Bot, t: Translator, ticket: Ticket | None = None,
        principal: Principal | None = None,
    ) -> None:
        """A new message in a connected account's chat: handled as a job of that chat's
        queue (`ticket`), so the chat's messages are taken in the order Telegram sent them.
        `principal`: the gate's one decision on the update (who asks, for which owner, on
        which surface), read here rather than worked out again."""
        if ticket is None:
            await self._message(message, bot, t, principal)
        else:
            ticket.submit(lambda: self._message(message, bot, t, principal))

    async def _message(
        self, message: Message, bot: Bot, t: Translator, principal: Principal | None
    ) -> None:
        connection_id = message.business_connection_id
        sender = message.from_user
        if connection_id is None or sender is None or message.sender_business_bot is not None:
            return
        # The gate found the connection and admitted its owner (or this is never called).
        connection = await self._connection(connection_id, bot)
        if connection is None:
            return
        customer = message.chat
        text = message.text or message.caption or ""
        owner_id = connection.owner_user_id
        if principal is not None and principal.owner_id is not None:
            owner_id = principal.owner_id  # the gate's, as it admitted the update
        owner = sender.id == owner_id
        kind = "" if owner or text.strip() else kind_of(message)
        said = "" if owner else text or f"[{kind}]"
        chat = await self.store.chat(connection_id, customer.id, customer.full_name,
                                     customer.username or "", said)
        if owner:
            await self.replies.owner_wrote(connection, chat, message, text)
            return
        # A business account's customer is never one of the bot's admins (the Principal's
        # rule); the surface is the gate's.
        speaker = Speaker(sender.id, sender.full_name, sender.language_code,
                          is_admin=principal.is_admin if principal is not None else False)
        surface = str(principal.surface) if principal is not None else "business"
        if kind:  # a voice note, a sticker, a photo without words: the owner's to answer
            await self.replies.cannot_answer(
                Asked(connection, chat, speaker, f"[{kind}]", message.message_id, surface),
                kind)
            return
        await self.replies.customer_wrote(
            Asked(connection, chat, speaker, text, message.message_id, surface), t
        )

    async def edited(self, message: Message, bot: Bot) -> None:
        """A customer edited a message: the answer to it stands (edits are not answered
        again), and the owner is told, with the new text."""
        connection_id = message.business_connection_id
        sender = message.from_user
        if connection_id is None or sender is None or message.sender_business_bot is not None:
            return
        connection = await self._connection(connection_id, bot)
        if connection is None or sender.id == connection.owner_user_id:
            return
        customer = message.chat
        chat = await self.store.chat(connection_id, customer.id, customer.full_name,
                                     customer.username or "")
        text = message.text or message.caption or f"[{kind_of(message)}]"
        speaker = Speaker(sender.id, sender.full_name, sender.language_code)
        await self.replies.edited(Asked(connection, chat, speaker, text, message.message_id))

    # -- the owner: presses and /business ------------------------------------------------------

    async def pressed(self, query: CallbackQuery, t: Translator) -> None:
        parts = (query.data or "").split(":")
        answer = ""
        try:
            if len(parts) == 3 and parts[1] in ("send", "drop") and parts[2].isdigit():
                answer = await self.replies.cards.press(int(parts[2]), parts[1] == "send",
                                                  query.from_user.id, t)
            elif len(parts) == 3 and parts[1] == "all" and parts[2] in ("0", "1"):
                for connection in await self.store.owned_by(query.from_user.id):
                    await self.store.pause(connection.id, parts[2] == "1")
                await self._refresh(query, t)
            elif len(parts) == 4 and parts[1] == "chat" and parts[2].isdigit():
                chat = await self.store.chat_by_id(int(parts[2]))
                owned = {c.id for c in await self.store.owned_by(query.from_user.id)}
                if chat is None or chat.connection_id not in owned:
                    answer = say(t, "not_yours")
                else:
                    await self.store.pause_chat(chat.id, parts[3] == "1")
                    await self._refresh(query, t)
        finally:
            try:
                await query.answer(answer[:200] or None)
            except TelegramAPIError as exc:  # too late to answer the press: nothing lost
                log.info("business press not answered: %s", exc)

    async def command(self, message: Message, t: Translator,
                      command: CommandObject | None = None) -> None:
        user = message.from_user
        if user is None:
            return
        argument = (command.args or "").strip().lower() if command is not None else ""
        if argument in ("pause", "resume"):
            for connection in await self.store.owned_by(user.id):
                await self.store.pause(connection.id, argument == "pause")
        text, markup = await self.status(user.id, t)
        outbox = self.replies.outbox
        try:
            await outbox.call(message.chat.id, SendMessage(
                chat_id=message.chat.id, text=text, reply_markup=markup, parse_mode=None,
            ))
        except (TelegramAPIError, OutboxError) as exc:
            log.warning("/business not answered in chat %s: %s", message.chat.id, exc)

    async def status(self, owner: int, t: Translator) -> tuple[str, InlineKeyboardMarkup | None]:
        """/business: each connection's state, and buttons to pause or resume all its chats
        or one of them (the most recently active)."""
        connections = await self.store.owned_by(owner)
        if not connections:
            return say(t, "none"), None
        lines: list[str] = []
        rows: list[list[InlineKeyboardButton]] = []
        minutes = int(self.replies.takeover.total_seconds() // 60)
        mode = say(t, f"mode_{self.replies.mode}")
        paused_all = all(c.paused for c in connections)
        for connection in connections:
            state = ("state_disabled" if not connection.enabled else
                     "state_no_reply" if not connection.can_reply else
                     "state_paused" if connection.paused else "state_on")
            lines.append(say(t, "status", owner=connection.owner_name, state=say(t, state),
                             mode=mode, minutes=minutes))
            chats = await self.store.chats_of(connection.id)
            if chats:
                lines.append(say(t, "chats"))
            for chat in chats:
                mark = "▶️" if chat.paused else "⏸"
                rows.append([InlineKeyboardButton(
                    text=f"{mark} {chat.label}"[:64],
                    callback_data=f"biz:chat:{chat.id}:{0 if chat.paused else 1}",
                )])
                until = self.replies.taken_over_until(chat)
                if until is not None:
                    lines.append(say(t, "taken_over", customer=chat.label,
                                     until=until.strftime("%H:%M")))
        rows.insert(0, [InlineKeyboardButton(
            text=say(t, "resume_all" if paused_all else "pause_all"),
            callback_data=f"biz:all:{0 if paused_all else 1}",
        )])
        return "\n\n".join(lines), InlineKeyboardMarkup(inline_keyboard=rows)

    async def _refresh(self, query: CallbackQuery, t: Translator) -> None:
        text, markup = await self.status(query.from_user.id, t)
        message = query.message
        if not isinstance(message, Message):
            return
        try:
            await self.replies.outbox.call(message.chat.id, EditMessageText(
                chat_id=message.chat.id, message_id=message.message_id, text=text,
                reply_markup=markup, parse_mode=None,
            ))
        except (TelegramAPIError, OutboxError) as exc:
            log.info("/business message not refreshed: %s", exc)

    async def _tell(self, chat_id: int, text: str) -> None:
        try:
            await self.replies.outbox.send_text(chat_id, text)
        except (TelegramAPIError, OutboxError) as exc:
            log.warning("the owner's chat %s could not be told: %s", chat_id, exc)


def kind_of(message: Message) -> str:
    """What a message without text carries (`voice`, `sticker`, ...; `other`)."""
    return next((kind for kind in KINDS if getattr(message, kind, None)), "other")
