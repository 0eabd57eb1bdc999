"""Ephemeral messages (Bot API 10.2-10.4, core.telegram.org/bots/api#ephemeral-messages-and-
commands): ``sendMessage`` with ``ephemeral_message_parameters`` {receiver_user_id,
callback_query_id?, replace_callback_query_message?} (10.3; 10.2's top-level
``receiver_user_id`` / ``callback_query_id`` are read too) posts a message only its receiver
sees. The answer is a Message with ``message_id`` 0, ``receiver_user`` and an
``ephemeral_message_id`` (per chat). Checked as documented:

- the chat is a group or a supergroup, except that a ``callback_query_id`` alone answers a
  press ephemerally in any chat (10.4);
- the receiver is a member of the chat (wrote or pressed a button in it, or ``add_member``
  says so);
- within ``EPHEMERAL_WINDOW`` (about 15 s) of the receiver's last action in the chat (a
  message, a press), unless the bot is an administrator there;
- a ``callback_query_id`` names a press by the receiver not answered yet, and the message
  answers it (a later answerCallbackQuery is "query is too old").

The refusal wording is the fake's own (Telegram's is not documented): ``400 Bad Request:
EPHEMERAL_...``. The stored message has ``receiver`` set: ``ChatState.messages`` and
``bot_messages`` (what every member sees) leave it out, ``seen_by(user_id)`` shows it to its
receiver, ``ephemeral`` lists them all.

Test API: ``refuse_ephemeral(True, chat_id=None)`` makes the fake answer every ephemeral send
(in that chat, or all) ``400 Bad Request: EPHEMERAL_MESSAGES_UNAVAILABLE``, as an older
server or a chat where they are off would; ``ephemeral_refusals`` counts those.
"""

from __future__ import annotations

import time
from typing import Any

from bot.testing.telegram.core import BotApiCore
from bot.testing.telegram.state import Call, ChatMessage, ChatState
from bot.testing.telegram.wire import Params, bad_request

EPHEMERAL_WINDOW = 15.0  # seconds after the receiver's action (unless the bot is an admin)
GROUPS = ("group", "supergroup")
_ADMINS = ("administrator", "creator")
_GONE = ("left", "kicked")


class EphemeralSide(BotApiCore):
    """sendMessage's ephemeral form, and what each member of a group sees."""

    def __init__(self, token: str, bot_username: str) -> None:
        super().__init__(token, bot_username)
        self.ephemeral_off: set[int | None] = set()  # chats refusing them (None: every chat)
        self.ephemeral_refusals = 0
        # Presses: callback query id -> (chat id, user id, when) (tg_users.send_callback_query).
        self.presses: dict[str, tuple[int, int, float]] = {}
        self._ephemeral_ids: dict[int, int] = {}

    def refuse_ephemeral(self, on: bool = True, *, chat_id: int | None = None) -> None:
        """Refuse ephemeral messages (400) in `chat_id`, or in every chat."""
        if on:
            self.ephemeral_off.add(chat_id)
        else:
            self.ephemeral_off.discard(chat_id)

    async def m_sendMessage(self, p: Params, call: Call) -> Any:
        params = p.get_json("ephemeral_message_parameters")
        if params is None and (p.has("receiver_user_id") or p.has("callback_query_id")):
            params = {"receiver_user_id": p.get_int("receiver_user_id"),
                      "callback_query_id": p.get_str("callback_query_id")}
        if params is None:
            return await super().m_sendMessage(p, call)  # type: ignore[misc]
        chat = self.target(p, call)
        if {None, chat.chat_id} & self.ephemeral_off:
            self.ephemeral_refusals += 1
            raise bad_request("EPHEMERAL_MESSAGES_UNAVAILABLE")
        receiver, press = params.get("receiver_user_id"), params.get("callback_query_id")
        if receiver is None:
            raise bad_request("EPHEMERAL_RECEIVER_INVALID")
        receiver = int(receiver)
        if press is not None:
            pressed = self.presses.get(str(press))
            if pressed is None or pressed[:2] != (chat.chat_id, receiver) or (
                self.callback_answers.get(str(press))
            ):
                raise bad_request("query is too old and response timeout expired or query ID "
                                  "is invalid")
        elif chat.type not in GROUPS:
            raise bad_request("EPHEMERAL_PEER_INVALID")
        if chat.type in GROUPS:
            if not self.is_member(chat, receiver):
                raise bad_request("EPHEMERAL_RECEIVER_INVALID")
            if not self.bot_is_admin(chat) and time.time() - self.last_action(
                chat, receiver
            ) > EPHEMERAL_WINDOW:
                raise bad_request("EPHEMERAL_WINDOW_EXPIRED")
        text, entities = self.text_of(p)
        markup, reply_to = self.markup_of(p), self.reply_of(p, chat)
        self.spend(call, chat)
        ephemeral_id = self._ephemeral_ids.get(chat.chat_id, 0) + 1
        self._ephemeral_ids[chat.chat_id] = ephemeral_id
        message = self._bot_message(
            chat, p, text=text, entities=entities, reply_markup=markup, reply_to=reply_to,
            receiver=receiver, ephemeral_message_id=ephemeral_id,
        )
        if press is not None:  # the message answers the press (10.4)
            self.callback_answers[str(press)] = {"ephemeral_message_id": ephemeral_id}
        chat.record_event("ephemeral", ephemeral_id, text, final=False)
        return self.message_json(chat, message)

    def message_json(self, chat: ChatState, m: ChatMessage, *, nested: bool = True) -> Any:
        out = super().message_json(chat, m, nested=nested)
        if m.receiver is not None:
            out["message_id"] = 0
            out["ephemeral_message_id"] = m.ephemeral_message_id
            out["receiver_user"] = self.user_of(chat, m.receiver)
        return out

    # --- membership --------------------------------------------------------------------------

    def user_of(self, chat: ChatState, user_id: int) -> dict[str, Any]:
        for message in reversed(chat.history):
            if message.user is not None and message.user.get("id") == user_id:
                return message.user
        return {"id": user_id, "is_bot": False, "first_name": f"User{user_id}"}

    def is_member(self, chat: ChatState, user_id: int) -> bool:
        status = self.members.get(chat.chat_id, {}).get(user_id)
        if status is not None:
            return status not in _GONE
        return self.last_action(chat, user_id) > 0  # wrote or pressed a button there

    def bot_is_admin(self, chat: ChatState) -> bool:
        return self.members.get(chat.chat_id, {}).get(int(self.bot_user["id"])) in _ADMINS

    def last_action(self, chat: ChatState, user_id: int) -> float:
        """When `user_id` last wrote or pressed a button in `chat` (0: never)."""
        wrote = max((m.sent_at for m in chat.history
                     if m.user is not None and m.user.get("id") == user_id), default=0.0)
        pressed = max((at for chat_id, user, at in self.presses.values()
                       if chat_id == chat.chat_id and user == user_id), default=0.0)
        return max(wrote, pressed)
