"""The fake Bot API: its one state and method handlers (mixed in from the modules below),
``answer`` (a call in, its result or Telegram's error out, whatever carried it), and the test
API: what users do (messages, buttons, stop), faults, observation."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from bot.testing.telegram.business import BusinessSide
from bot.testing.telegram.core import KNOWN_METHODS, Fault
from bot.testing.telegram.ephemeral import EphemeralSide
from bot.testing.telegram.files import FileSide
from bot.testing.telegram.forum import ForumSide
from bot.testing.telegram.guest import GuestQuery, GuestSide
from bot.testing.telegram.methods import BotApiMethods
from bot.testing.telegram.rich import RichSide
from bot.testing.telegram.state import Call, ChatMessage, ChatState, Version
from bot.testing.telegram.wire import Params, TelegramError, bad_request, utf16_len

log = logging.getLogger("fake_telegram")
T = TypeVar("T")
_COMMAND = re.compile(r"^/[A-Za-z0-9_]+(@[A-Za-z0-9_]+)?")
_MENTION = re.compile(r"@[A-Za-z0-9_]{5,32}")
_DEFAULT_DESCRIPTIONS = {
    400: "Bad Request",
    403: "Forbidden: bot was blocked by the user",
    500: "Internal Server Error",
    502: "Bad Gateway",
}


@dataclass
class Answer:
    """What the fake answered one call: its `result`, or the Telegram `error` (the HTTP
    status and the body); `modelled` is False for a real method the fake does not model
    (answered ``true``)."""

    call: Call
    result: Any = None
    error: TelegramError | None = None
    modelled: bool = True


class FakeBotApi(
    RichSide, BusinessSide, GuestSide, EphemeralSide, FileSide, BotApiMethods, ForumSide
):
    """The fake Bot API (its test API is documented in tests/fakes/telegram/server.py);
    synchronous calls act at once. Served in process by the kit's `FakeTelegram` session and,
    in fmbot's own tests, over loopback HTTP by `TelegramServer`: both hand each call to
    `answer`."""

    # --- the Bot API ------------------------------------------------------------------------

    async def answer(self, method: str, params: Params) -> Answer:
        """Answer one call of `method` (the name as in the URL) with `params`: recorded in
        `calls`, faults injected by `fail_next` first, then the method's handler."""
        chat_id = params.values.get("chat_id")
        call = Call(
            time.time(),
            method,
            params.loggable(),
            int(str(chat_id)) if str(chat_id).lstrip("-").isdigit() else None,
        )
        self.calls.append(call)
        answer = Answer(call)
        try:
            self.inject_fault(method, params)
            for ignored in self.ignore_fields & params.values.keys():
                del params.values[ignored]
            refused = sorted(self.refuse_fields & params.values.keys())
            if refused:
                raise bad_request(f"unknown parameter {refused[0]}")
            handler = self.methods.get(method.lower())
            if handler is not None:
                answer.result = await handler(params, call)
            elif method.lower() in KNOWN_METHODS:
                log.warning("fake Telegram: %s is not modelled; answering true", method)
                self.unknown_methods[method] += 1
                answer.result, answer.modelled = True, False
            else:
                raise TelegramError(404, "Not Found")
        except TelegramError as exc:
            call.status, call.description = exc.status, exc.description
            if exc.status == 429:
                self.count_429 += 1
            answer.error = exc
        self._notify()
        return answer

    # --- test API: what users do ------------------------------------------------------------

    def add_chat(
        self,
        chat_id: int,
        chat_type: str | None = None,
        *,
        title: str | None = None,
        user: dict[str, Any] | None = None,
    ) -> ChatState:
        chat = self.chats.get(chat_id)
        if chat is None:
            kind = chat_type or ("private" if chat_id > 0 else "group")
            chat = ChatState(chat_id, kind, title=title, user=user)
            self.chats[chat_id] = chat
        return chat

    def chat(self, chat_id: int) -> ChatState:
        return self.chats[chat_id]

    def _user(self, chat: ChatState, user: dict[str, Any] | None, language: str) -> dict[str, Any]:
        default_id = chat.chat_id if chat.type == "private" else 1
        out = {
            "id": default_id,
            "is_bot": False,
            "first_name": f"User{default_id}",
            "language_code": language,
        }
        out.update(user or {})
        if out["first_name"] == f"User{default_id}" and out["id"] != default_id:
            out["first_name"] = f"User{out['id']}"
        return out

    def send_user_message(
        self,
        chat_id: int,
        text: str,
        *,
        user: dict[str, Any] | None = None,
        chat_type: str | None = None,
        title: str | None = None,
        reply_to: int | None = None,
        thread_id: int | None = None,
        entities: list[dict[str, Any]] | None = None,
        language_code: str = "en",
        extra: dict[str, Any] | None = None,
    ) -> int:
        """A user writes ``text`` (commands and @mentions get their entities); -> update_id."""
        chat = self.add_chat(chat_id, chat_type, title=title)
        sender = self._user(chat, user, language_code)
        if chat.type == "private" and chat.user is None:
            chat.user = sender
        now = time.time()
        message = ChatMessage(
            chat.take_message_id(),
            chat_id,
            False,
            now,
            text=text or None,
            reply_to=reply_to,
            thread_id=thread_id,
            user=sender,
        )
        if entities is None:
            entities = []
            if match := _COMMAND.match(text):
                entities.append(
                    {"type": "bot_command", "offset": 0, "length": utf16_len(match.group())}
                )
            for match in _MENTION.finditer(text):
                entities.append(
                    {
                        "type": "mention",
                        "offset": utf16_len(text[: match.start()]),
                        "length": utf16_len(match.group()),
                    }
                )
        message.entities = entities
        message.versions.append(Version(now, message.text, entities))
        chat.history.append(message)
        body = self.message_json(chat, message)
        if not text:
            body.pop("text", None)
        if extra:
            body.update(extra)
            self._carry(message, body)
        return self.send_update({"message": body})

    def ingest(self, update: dict[str, Any]) -> None:
        """Take in an update delivered by other means than this fake (a test kit feeding a
        dispatcher directly) as if a user had done it here: the chat exists, the user's
        message is in its history (with the file it carries), a press can be answered, a
        guest query or a business connection is known."""
        for kind in ("message", "edited_message", "business_message",
                     "edited_business_message", "guest_message"):
            body = update.get(kind)
            if isinstance(body, dict):
                self._ingest_message(kind, body)
        query = update.get("callback_query")
        if isinstance(query, dict):
            self.callback_answers.setdefault(str(query["id"]), {})
            chat_json = (query.get("message") or {}).get("chat") or {}
            chat = chat_json.get("id")
            if chat is not None:  # pressed in a chat: the chat is there
                self.add_chat(int(chat), chat_json.get("type"), title=chat_json.get("title"))
                self.presses[str(query["id"])] = (int(chat), int(query["from"]["id"]),
                                                  time.time())
        connection = update.get("business_connection")
        if isinstance(connection, dict):
            self.connect_business(
                connection["user"], connection_id=str(connection["id"]), notify=False,
                can_reply=bool((connection.get("rights") or {}).get("can_reply")),
                enabled=bool(connection.get("is_enabled", True)),
            )
        self._notify()

    def _ingest_message(self, kind: str, body: dict[str, Any]) -> None:
        chat_json, sender = body["chat"], body.get("from")
        if kind == "guest_message":  # the bot is not in the chat: only the query is kept
            query_id = str(body.get("guest_query_id") or "")
            if query_id and query_id not in self.guest:
                self.guest[query_id] = GuestQuery(query_id, int(chat_json["id"]), sender or {})
            return
        connection = body.get("business_connection_id")
        if connection is not None:
            chat = self.business_chat(str(connection), int(chat_json["id"]))
        else:
            chat = self.add_chat(int(chat_json["id"]), chat_json.get("type"),
                                 title=chat_json.get("title"))
        if chat.type == "private" and chat.user is None:
            chat.user = sender
        message_id = int(body["message_id"])
        text = body.get("text")
        existing = chat.find(message_id)
        if existing is not None:  # an edit (or the same update again)
            existing.text = text
            existing.versions.append(Version(time.time(), text, existing.entities))
            return
        now = time.time()
        message = ChatMessage(
            message_id, chat.chat_id, False, now, text=text,
            entities=list(body.get("entities") or body.get("caption_entities") or []),
            reply_to=(body.get("reply_to_message") or {}).get("message_id"),
            thread_id=body.get("message_thread_id"), user=sender,
        )
        self._carry(message, body)
        message.versions.append(Version(now, text or message.caption, message.entities))
        chat.history.append(message)
        chat.next_message_id = max(chat.next_message_id, message_id + 1)

    def _carry(self, message: ChatMessage, body: dict[str, Any]) -> None:
        """The file a user's message `body` carries, kept on `message` (a copy, a download)."""
        message.caption = body.get("caption")
        if body.get("photo"):
            message.photo_file_id = str(body["photo"][-1]["file_id"])
            message.photo = self.files.get(message.photo_file_id, b"")
        elif body.get("voice"):
            message.voice_file_id = str(body["voice"]["file_id"])
            message.voice = self.files.get(message.voice_file_id, b"")
            message.voice_duration = int(body["voice"].get("duration") or 0)
        else:
            for media in ("document", "audio", "video", "animation", "sticker", "video_note"):
                if isinstance(body.get(media), dict):
                    found = body[media]
                    message.kind, message.media_file_id = media, str(found["file_id"])
                    message.media = self.files.get(message.media_file_id)
                    message.media_name, message.media_mime = (found.get("file_name"),
                                                              found.get("mime_type"))
                    break

    def edit_user_message(self, chat_id: int, message_id: int, text: str) -> int:
        chat = self.chat(chat_id)
        message = chat.find(message_id)
        if message is None:
            raise KeyError(f"no message {message_id} in chat {chat_id}")
        message.text = text
        message.versions.append(Version(time.time(), text, message.entities))
        return self.send_update({"edited_message": self.message_json(chat, message)})

    def send_callback_query(
        self, chat_id: int, message_id: int, data: str, *, user: dict[str, Any] | None = None
    ) -> int:
        """A button press; the query id is the update id as a string."""
        chat = self.chat(chat_id)
        message = chat.find(message_id)
        if message is None:
            raise KeyError(f"no message {message_id} in chat {chat_id}")
        update_id = self.updates.next_update_id
        self.callback_answers[str(update_id)] = {}
        presser = self._user(chat, user, "en")
        self.presses[str(update_id)] = (chat_id, int(presser["id"]), time.time())
        return self.send_update(
            {
                "update_id": update_id,
                "callback_query": {
                    "id": str(update_id),
                    "from": presser,
                    "data": data,
                    "chat_instance": str(chat_id),
                    "message": self.message_json(chat, message),
                },
            }
        )

    def send_update(self, update: dict[str, Any]) -> int:
        """Queue a raw update (``update_id`` is assigned when missing); -> update_id."""
        update_id = self.updates.add(update)
        self._notify()
        return update_id

    def press_stop(
        self, chat_id: int, draft_id: int | None = None, *, thread_id: int | None = None
    ) -> int:
        """The user presses the draft's stop button: a ``stopped_message_generation`` update."""
        chat = self.chat(chat_id)
        draft = chat.draft
        if draft_id is None:
            if draft is None:
                raise LookupError(f"chat {chat_id} shows no draft to stop")
            draft_id, thread_id = draft.draft_id, draft.thread_id
        if draft is not None and draft.draft_id == draft_id and not draft.keep_on_stop:
            chat.current_draft = None
        body: dict[str, Any] = {"chat": chat.chat_json(), "draft_id": draft_id}
        if thread_id is not None:
            body["message_thread_id"] = thread_id
        return self.send_update({"stopped_message_generation": body})

    def delete_message(self, chat_id: int, message_id: int) -> None:
        """The user deletes a message (later edits of it fail with "message to edit not found")."""
        message = self.chat(chat_id).find(message_id)
        if message is None:
            raise KeyError(f"no message {message_id} in chat {chat_id}")
        message.deleted = True
        self._notify()

    # --- test API: faults and observation ---------------------------------------------------

    def fail_next(
        self,
        method: str,
        status: int = 429,
        description: str | None = None,
        *,
        retry_after: int | None = None,
        times: int = 1,
        chat_id: int | None = None,
    ) -> None:
        """Answer the next ``times`` calls of ``method`` with this error (429 opens a penalty)."""
        if status == 429:
            retry_after = retry_after or 1
            description = description or f"Too Many Requests: retry after {retry_after}"
        text = description or _DEFAULT_DESCRIPTIONS.get(status, "Error")
        self.faults.setdefault(method.lower(), []).append(
            Fault(status, text, retry_after, times, chat_id)
        )

    def block_user(self, chat_id: int) -> None:
        self.add_chat(chat_id).blocked = True

    def unblock_user(self, chat_id: int) -> None:
        self.add_chat(chat_id).blocked = False

    def slow_get_updates(self, seconds: float) -> None:
        updates = self.updates
        updates.slow_seconds = seconds

    def fail_get_updates(self, times: int, status: int = 502) -> None:
        updates = self.updates
        updates.fail_times, updates.fail_status = times, status

    def reset_counters(self) -> None:
        self.count_429 = self.count_flood_429 = 0
        self.calls.clear()

    def calls_for(self, chat_id: int | None = None, method: str | None = None) -> list[Call]:
        return [
            c
            for c in self.calls
            if (chat_id is None or c.chat_id == chat_id) and (method is None or c.method == method)
        ]

    async def wait_for(self, predicate: Callable[[], T], timeout: float = 5.0) -> T:  # noqa: ASYNC109
        """Wait until ``predicate()`` is truthy (re-checked on every change); return it.
        `timeout` is on the loop's clock: virtual time where the test runs on it."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            value = predicate()
            if value:
                return value
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise TimeoutError(f"fake Telegram: condition not met within {timeout} s")
            changed = self._changed
            with contextlib.suppress(TimeoutError):
                # Re-check at least every 0.1 s for conditions that depend on time alone.
                await asyncio.wait_for(changed.wait(), min(remaining, 0.1))
