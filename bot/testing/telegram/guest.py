"""Guest mode (Bot API 10.0, core.telegram.org/api/bots/guest-mode): a bot @mentioned in a
chat it is not a member of gets a ``guest_message`` update (a Message with ``guest_query_id``
and the message it replies to as ``reply_to_message``), answers it once with
``answerGuestQuery(guest_query_id, result)`` (an InlineQueryResult) and gets
``SentGuestMessage{inline_message_id}``, which ``editMessageText(inline_message_id=...)``
edits (answering ``true``). A second answer to the same query, or one to a query never
asked, is refused ``400 Bad Request: QUERY_ID_INVALID``; an edit of an unknown inline message
``MESSAGE_ID_INVALID``. getMe says ``supports_guest_queries`` (``guest_queries``, default on).

Test API: ``send_guest_message(chat_id, text, user=..., reply_to_text=..., reply_author=...)``
-> (update_id, guest_query_id); ``guest[query_id]`` (``GuestQuery``: ``answers`` tried,
``inline_message_id``, ``text`` now, ``versions`` of the text in order).
"""

from __future__ import annotations

import itertools
import re
import time
from dataclasses import dataclass, field
from typing import Any

from bot.testing.telegram.core import NOT_MODIFIED, BotApiCore
from bot.testing.telegram.state import Call
from bot.testing.telegram.wire import Params, bad_request, utf16_len

_MENTION = re.compile(r"@[A-Za-z0-9_]{5,32}")


@dataclass
class GuestQuery:
    query_id: str
    chat_id: int
    user: dict[str, Any]
    answers: int = 0  # answerGuestQuery calls for it, refused ones included
    inline_message_id: str | None = None
    text: str = ""
    entities: list[dict[str, Any]] = field(default_factory=list)
    versions: list[str] = field(default_factory=list)
    answered_at: float | None = None


class GuestSide(BotApiCore):
    """Guest queries: the user side (`send_guest_message`) and the bot's methods."""

    def __init__(self, token: str, bot_username: str) -> None:
        super().__init__(token, bot_username)
        self.guest: dict[str, GuestQuery] = {}
        self.guest_ids = itertools.count(1)

    @property
    def guest_queries(self) -> bool:
        return bool(self.bot_user.get("supports_guest_queries"))

    @guest_queries.setter
    def guest_queries(self, on: bool) -> None:
        self.bot_user["supports_guest_queries"] = on

    def send_guest_message(
        self,
        chat_id: int,
        text: str,
        *,
        user: dict[str, Any] | None = None,
        title: str = "Friends",
        chat_type: str = "supergroup",
        reply_to_text: str | None = None,
        reply_author: dict[str, Any] | None = None,
        language_code: str = "en",
    ) -> tuple[int, str]:
        """A user @mentions the bot in a chat it is not in (the mention is put in front when
        `text` lacks it); -> (update_id, guest_query_id)."""
        username = str(self.bot_user.get("username", ""))
        if f"@{username}".lower() not in text.lower():
            text = f"@{username} {text}"
        sender = {"id": 1, "is_bot": False, "first_name": "User1",
                  "language_code": language_code, **(user or {})}
        chat = {"id": chat_id, "type": chat_type, "title": title}
        now = int(time.time())
        query_id = self.add_guest_query(chat_id, sender)
        message: dict[str, Any] = {
            "message_id": 1000 + next(self.guest_ids), "date": now, "chat": chat,
            "from": sender, "text": text, "guest_query_id": query_id,
            "entities": [{"type": "mention", "offset": utf16_len(text[: m.start()]),
                          "length": utf16_len(m.group())} for m in _MENTION.finditer(text)],
        }
        if reply_to_text is not None:
            author = {"id": 2, "is_bot": False, "first_name": "Bob", **(reply_author or {})}
            message["reply_to_message"] = {
                "message_id": 500 + next(self.guest_ids), "date": now - 60, "chat": chat,
                "from": author, "text": reply_to_text,
            }
        update_id = self.updates.add({"guest_message": message})
        self._notify()
        return update_id, query_id

    def add_guest_query(self, chat_id: int, user: dict[str, Any]) -> str:
        """A guest query `user` asks in `chat_id` (its update is the caller's); its id."""
        query_id = f"gq{next(self.guest_ids)}"
        self.guest[query_id] = GuestQuery(query_id, chat_id, user)
        return query_id

    async def m_answerGuestQuery(self, p: Params, call: Call) -> Any:
        query_id = p.get_str("guest_query_id") or ""
        query = self.guest.get(query_id)
        if query is not None:
            query.answers += 1
        if query is None or query.inline_message_id is not None:
            raise bad_request("QUERY_ID_INVALID")
        result = p.get_json("result") or {}
        if not isinstance(result, dict) or not result.get("type") or not result.get("id"):
            raise bad_request("RESULT_ID_INVALID")
        content = result.get("input_message_content") or {}
        text = str(content.get("message_text") or "")
        if not text.strip():
            raise bad_request("MESSAGE_EMPTY")
        if utf16_len(text) > 4096:
            raise bad_request("MESSAGE_TOO_LONG")
        query.inline_message_id = f"AgAAA{query_id}"
        query.text, query.entities = text, list(content.get("entities") or [])
        query.versions.append(text)
        query.answered_at = time.time()
        self._notify()
        return {"inline_message_id": query.inline_message_id}

    async def m_editMessageText(self, p: Params, call: Call) -> Any:
        if not p.has("inline_message_id"):
            return await super().m_editMessageText(p, call)  # type: ignore[misc]
        inline_id = p.get_str("inline_message_id")
        query = next((q for q in self.guest.values() if q.inline_message_id == inline_id), None)
        if query is None:
            if not self.guest:  # inline mode's messages: not modelled, as before
                return True
            raise bad_request("MESSAGE_ID_INVALID")
        text, entities = self.text_of(p)
        if text == query.text and entities == query.entities:
            raise bad_request(NOT_MODIFIED)
        query.text, query.entities = text, entities
        query.versions.append(text)
        self._notify()
        return True
