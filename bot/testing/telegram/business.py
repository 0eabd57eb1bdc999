"""Chat automation (business connections, core.telegram.org/bots/api#businessconnection): a
user connects the bot to their account; the bot gets ``business_connection`` updates
(``id``, ``user``, ``user_chat_id``, ``date``, ``is_enabled``, ``rights.can_reply``) and
``business_message`` updates for every new message of the chats it may see, the customers'
and the owner's own (``business_connection_id`` set, ``chat`` the customer's private chat with
the owner). The bot answers with ``business_connection_id`` on sendMessage, editMessageText and
sendChatAction (its messages appear as the owner's, with ``sender_business_bot``); drafts take
no connection. A call naming an unknown or switched-off connection is refused
``400 Bad Request: BUSINESS_CONNECTION_INVALID``; one without the right to reply
``403 Forbidden: BOT_ACCESS_FORBIDDEN`` (wording unconfirmed). getMe says
``can_connect_to_business``.

Test API: ``connect_business(owner, can_reply=..., enabled=...)`` -> connection id (and the
update); ``send_business_message(connection_id, customer, text, from_owner=False)`` ->
update_id; ``business_chat(connection_id, customer_id)`` (a ChatState: ``bot_messages`` are
what the bot sent as the owner).
"""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass
from typing import Any

from bot.testing.telegram.core import BotApiCore
from bot.testing.telegram.state import Call, ChatMessage, ChatState, Version
from bot.testing.telegram.wire import Params, TelegramError, bad_request


@dataclass
class FakeConnection:
    id: str
    owner: dict[str, Any]
    user_chat_id: int
    can_reply: bool = True
    enabled: bool = True

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id, "user": self.owner, "user_chat_id": self.user_chat_id,
            "date": int(time.time()), "is_enabled": self.enabled,
            "rights": {"can_reply": self.can_reply, "can_read_messages": True},
        }


class BusinessSide(BotApiCore):
    """Business connections: the user side and the bot's methods with a connection."""

    def __init__(self, token: str, bot_username: str) -> None:
        super().__init__(token, bot_username)
        self.bot_user["can_connect_to_business"] = True
        self.connections: dict[str, FakeConnection] = {}
        self.business_chats: dict[tuple[str, int], ChatState] = {}
        self._connection_ids = itertools.count(1)

    # --- test API -----------------------------------------------------------------------------

    def connect_business(
        self,
        owner: dict[str, Any],
        *,
        can_reply: bool = True,
        enabled: bool = True,
        connection_id: str | None = None,
        notify: bool = True,
    ) -> str:
        """The owner connects the bot to their account (or changes the connection); the
        bot gets a ``business_connection`` update unless `notify` is False."""
        owner = {"is_bot": False, "language_code": "en", **owner}
        connection_id = connection_id or f"bc{next(self._connection_ids)}AbCdEf"
        connection = FakeConnection(connection_id, owner, int(owner["id"]), can_reply, enabled)
        self.connections[connection_id] = connection
        if connection.user_chat_id not in self.chats:  # the owner's private chat with the bot
            self.chats[connection.user_chat_id] = ChatState(connection.user_chat_id, "private",
                                                            user=owner)
        if notify:
            self.updates.add({"business_connection": connection.to_json()})
            self._notify()
        return connection_id

    def business_chat(self, connection_id: str, customer_id: int) -> ChatState:
        key = (connection_id, customer_id)
        chat = self.business_chats.get(key)
        if chat is None:
            chat = ChatState(customer_id, "private",
                             user={"id": customer_id, "first_name": f"User{customer_id}"})
            self.business_chats[key] = chat
        return chat

    def send_business_message(
        self,
        connection_id: str,
        customer: dict[str, Any],
        text: str,
        *,
        from_owner: bool = False,
    ) -> int:
        """A message in the customer's chat with the owner: the customer's, or the owner's
        own (`from_owner`); -> update_id."""
        connection = self.connections[connection_id]
        customer = {"is_bot": False, "language_code": "en", **customer}
        chat = self.business_chat(connection_id, int(customer["id"]))
        chat.user = customer
        sender = connection.owner if from_owner else customer
        message = ChatMessage(chat.take_message_id(), chat.chat_id, False, time.time(),
                              text=text, user=sender)
        message.versions.append(Version(message.sent_at, text, [], None))
        chat.history.append(message)
        payload = self.message_json(chat, message)
        payload["business_connection_id"] = connection_id
        update_id = self.updates.add({"business_message": payload})
        self._notify()
        return update_id

    # --- the bot's side -----------------------------------------------------------------------

    def target(self, p: Params, call: Call) -> ChatState:
        connection_id = p.get_str("business_connection_id")
        if connection_id is None:
            return super().target(p, call)
        connection = self.connections.get(connection_id)
        if connection is None or not connection.enabled:
            raise bad_request("BUSINESS_CONNECTION_INVALID")
        if not connection.can_reply:
            raise TelegramError(403, "Forbidden: BOT_ACCESS_FORBIDDEN")
        chat_id = p.get_int("chat_id", required=True)
        assert chat_id is not None
        call.chat_id = chat_id
        chat = self.business_chats.get((connection_id, chat_id))
        if chat is None:
            raise bad_request("chat not found")
        chat.calls[call.method] += 1
        return chat

    def message_json(self, chat: ChatState, m: ChatMessage, *, nested: bool = True) -> Any:
        out = super().message_json(chat, m, nested=nested)
        for (connection_id, _), business in self.business_chats.items():
            if business is chat:
                out["business_connection_id"] = connection_id
                if m.from_bot:  # sent by the bot as the owner
                    out["from"] = self.connections[connection_id].owner
                    out["sender_business_bot"] = self.bot_user
                break
        return out

    async def m_getBusinessConnection(self, p: Params, call: Call) -> Any:
        connection = self.connections.get(p.get_str("business_connection_id") or "")
        if connection is None:
            raise bad_request("BUSINESS_CONNECTION_INVALID")
        return connection.to_json()

    async def m_sendMessageDraft(self, p: Params, call: Call) -> Any:
        if p.has("business_connection_id"):  # drafts take no connection
            raise bad_request("unexpected parameter business_connection_id")
        return await super().m_sendMessageDraft(p, call)  # type: ignore[misc]

    async def m_deleteBusinessMessages(self, p: Params, call: Call) -> Any:
        connection_id = p.get_str("business_connection_id") or ""
        if connection_id not in self.connections:
            raise bad_request("BUSINESS_CONNECTION_INVALID")
        ids = {int(i) for i in p.get_json("message_ids") or []}
        for (owner_of, _), chat in self.business_chats.items():
            if owner_of != connection_id:
                continue
            for message in chat.history:
                if message.message_id in ids and message.from_bot:
                    message.deleted = True
        self._notify()
        return True
