"""The Bot API methods the fake implements, with Telegram's checks and error wording.

Wording comes from real answers (../shared/reference/telegram-bot-api.md §1.3); drafts in groups
answer ``TEXTDRAFT_PEER_INVALID`` as reported in nullclaw/nullclaw#626.
"""

from __future__ import annotations

import importlib.util
import logging
import re
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.fakes.tg_flood import FloodControl
from tests.fakes.tg_html import parse_html
from tests.fakes.tg_state import Call, ChatMessage, ChatState, Draft, Version
from tests.fakes.tg_updates import UpdateQueue, Webhook
from tests.fakes.tg_wire import (
    Params,
    TelegramError,
    bad_request,
    check_entities,
    image_size,
    utf16_len,
)

log = logging.getLogger("fake_telegram")

Handler = Callable[[Params, Call], Awaitable[Any]]
# Real method names (for "answered generically" versus 404 "Not Found"), lower-cased because
# Telegram matches method names case-insensitively. Read from aiogram's file names (one module
# per method) without importing aiogram, which would cost seconds at start.
_AIOGRAM = importlib.util.find_spec("aiogram")
KNOWN_METHODS = frozenset(
    path.stem.replace("_", "")
    for location in ((_AIOGRAM.submodule_search_locations or []) if _AIOGRAM else [])
    for path in Path(location, "methods").glob("*.py")
    if not path.stem.startswith("_") and path.stem != "base"
)
CHAT_ACTIONS = frozenset(
    {
        "typing", "upload_photo", "record_video", "upload_video", "record_voice", "upload_voice",
        "upload_document", "choose_sticker", "find_location", "record_video_note",
        "upload_video_note",
    }
)  # fmt: skip
NOT_MODIFIED = (
    "message is not modified: specified new message content and reply markup are exactly the "
    "same as a current content and reply markup of the message"
)
MAX_PHOTO_BYTES = 10 * 1024 * 1024


@dataclass
class Fault:
    status: int
    description: str
    retry_after: int | None
    times: int
    chat_id: int | None = None


def _entities_key(entities: list[dict[str, Any]]) -> list[tuple[tuple[str, str], ...]]:
    return sorted(tuple(sorted((k, str(v)) for k, v in e.items())) for e in entities)


def trim(text: str, entities: list[dict[str, Any]]) -> tuple[str, list[dict[str, Any]]]:
    """Strip leading/trailing whitespace and clip entities, as Telegram does before storing
    (tdlib's fix_formatted_text), so "a\n" and "a" are the same message ("not modified")."""
    stripped = text.strip()
    if stripped == text:
        return text, entities
    shift = utf16_len(text[: len(text) - len(text.lstrip())])
    size = utf16_len(stripped)
    clipped = []
    for entity in entities:
        start = max(0, entity["offset"] - shift)
        end = min(size, entity["offset"] + entity["length"] - shift)
        if end > start:
            clipped.append({**entity, "offset": start, "length": end - start})
    return stripped, clipped


class BotApiCore:
    """State and method implementations; HTTP and the test API live in telegram_server.py."""

    def __init__(self, token: str, bot_username: str) -> None:
        self.token = token
        bot_id = int(token.split(":", 1)[0]) if token.split(":", 1)[0].isdigit() else 42
        self.bot_user = {
            "id": bot_id,
            "is_bot": True,
            "first_name": "FM Test Bot",
            "username": bot_username,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
        }
        self.chats: dict[int, ChatState] = {}
        self.calls: list[Call] = []
        self.flood = FloodControl()
        self.updates = UpdateQueue()
        self.files: dict[str, bytes] = {}
        self.commands: dict[tuple[str, str], list[dict[str, Any]]] = {}
        self.callback_answers: dict[str, dict[str, Any]] = {}
        self.unknown_methods: Counter[str] = Counter()
        self.faults: dict[str, list[Fault]] = {}
        self.count_429 = 0
        self.count_flood_429 = 0
        self.version = 0
        self.methods: dict[str, Handler] = {
            name.lower(): getattr(self, "m_" + name)
            for name in (
                "getMe",
                "getUpdates",
                "setWebhook",
                "deleteWebhook",
                "getWebhookInfo",
                "setMyCommands",
                "getMyCommands",
                "deleteMyCommands",
                "sendMessage",
                "editMessageText",
                "editMessageReplyMarkup",
                "deleteMessage",
                "sendMessageDraft",
                "sendChatAction",
                "sendPhoto",
                "answerCallbackQuery",
                "getFile",
            )
        }

    def _notify(self) -> None:
        self.version += 1

    # --- shared checks ---------------------------------------------------------------------

    def inject_fault(self, method: str, params: Params) -> None:
        queue = self.faults.get(method.lower())
        if not queue:
            return
        chat_id = params.values.get("chat_id")
        for fault in queue:
            if fault.chat_id is None or str(fault.chat_id) == str(chat_id):
                fault.times -= 1
                if fault.times <= 0:
                    queue.remove(fault)
                if fault.retry_after and chat_id not in (None, ""):
                    self.flood.penalise(int(chat_id), time.time() + fault.retry_after)
                raise TelegramError(fault.status, fault.description, fault.retry_after)

    def target(self, p: Params, call: Call) -> ChatState:
        chat_id = p.get_int("chat_id", required=True)
        assert chat_id is not None
        call.chat_id = chat_id
        chat = self.chats.get(chat_id)
        if chat is None:
            raise bad_request("chat not found")
        chat.calls[call.method] += 1
        if chat.blocked:
            raise TelegramError(403, "Forbidden: bot was blocked by the user")
        return chat

    def spend(self, call: Call, chat: ChatState) -> None:
        retry = self.flood.check(call.method, chat.chat_id, chat.type, time.time())
        if retry is not None:
            self.count_flood_429 += 1
            raise TelegramError(429, f"Too Many Requests: retry after {retry}", retry)

    def text_of(
        self, p: Params, field: str = "text", *, limit: int = 4096, empty_ok: bool = False
    ) -> tuple[str, list[dict[str, Any]]]:
        text = p.get_str(field) or ""
        entities_field = "entities" if field == "text" else f"{field}_entities"
        parse_mode = (p.get_str("parse_mode") or "").lower()
        if p.has(entities_field) or not parse_mode:
            entities = check_entities(text, p.get_json(entities_field))
        elif parse_mode == "html":
            text, entities = parse_html(text)
        else:
            log.warning("parse_mode %s is not emulated; text kept raw", parse_mode)
            entities = []
        text, entities = trim(text, entities)
        if not text and not empty_ok:
            raise bad_request("message text is empty")
        if utf16_len(text) > limit:
            raise bad_request(
                "message caption is too long" if field == "caption" else "message is too long"
            )
        return text, entities

    def markup_of(self, p: Params) -> dict[str, Any] | None:
        markup = p.get_json("reply_markup")
        for row in (markup or {}).get("inline_keyboard", []):
            for button in row:
                data = button.get("callback_data")
                if data is not None and not 1 <= len(str(data).encode()) <= 64:
                    raise bad_request("BUTTON_DATA_INVALID")
        return markup  # type: ignore[no-any-return]

    def reply_of(self, p: Params, chat: ChatState) -> int | None:
        reply = p.get_json("reply_parameters") or {}
        message_id = reply.get("message_id") or p.get_int("reply_to_message_id")
        if message_id is None:
            return None
        target = chat.find(int(message_id))
        if target is None or target.deleted:
            if reply.get("allow_sending_without_reply") or p.get_bool(
                "allow_sending_without_reply"
            ):
                return None
            raise bad_request("message to be replied not found")
        return int(message_id)

    def message_json(self, chat: ChatState, m: ChatMessage, *, nested: bool = True) -> Any:
        out: dict[str, Any] = {
            "message_id": m.message_id,
            "date": int(m.sent_at),
            "chat": chat.chat_json(),
            "from": self.bot_user if m.from_bot else m.user,
        }
        if m.thread_id is not None:
            out["message_thread_id"] = m.thread_id
        if m.photo is not None:
            width, height = image_size(m.photo) or (1, 1)
            out["photo"] = [
                {
                    "file_id": m.photo_file_id,
                    "file_unique_id": f"u{m.photo_file_id}",
                    "width": width,
                    "height": height,
                    "file_size": len(m.photo),
                }
            ]
            if m.caption:
                out["caption"] = m.caption
                if m.entities:
                    out["caption_entities"] = m.entities
        elif m.text is not None:
            out["text"] = m.text
            if m.entities:
                out["entities"] = m.entities
        if m.reply_markup:
            out["reply_markup"] = m.reply_markup
        if len(m.versions) > 1:
            out["edit_date"] = int(m.versions[-1].at)
        if nested and m.reply_to is not None:
            original = chat.find(m.reply_to)
            if original is not None:
                out["reply_to_message"] = self.message_json(chat, original, nested=False)
        return out

    def _bot_message(self, chat: ChatState, p: Params, **fields: Any) -> ChatMessage:
        now = time.time()
        message = ChatMessage(
            message_id=chat.take_message_id(),
            chat_id=chat.chat_id,
            from_bot=True,
            sent_at=now,
            thread_id=p.get_int("message_thread_id"),
            **fields,
        )
        message.versions.append(
            Version(now, message.text or message.caption, message.entities, message.reply_markup)
        )
        chat.history.append(message)
        chat.current_draft = None  # the real message replaces the animated preview
        return message

    # --- methods ---------------------------------------------------------------------------

    async def m_getMe(self, p: Params, call: Call) -> Any:
        return self.bot_user

    async def m_getUpdates(self, p: Params, call: Call) -> Any:
        allowed = p.get_json("allowed_updates")
        return await self.updates.get_updates(
            p.get_int("offset"),
            p.get_int("limit") or 100,
            float(p.get_int("timeout") or 0),
            allowed,
        )

    async def m_setWebhook(self, p: Params, call: Call) -> Any:
        url = p.get_str("url") or ""
        secret = p.get_str("secret_token")
        if secret is not None and not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", secret):
            raise bad_request("secret token contains unallowed characters")
        if p.has("allowed_updates"):
            self.updates.allowed_updates = p.get_json("allowed_updates")
        hook = Webhook(url, secret, p.get_int("max_connections") or 40) if url else None
        self.updates.set_webhook(hook, p.get_bool("drop_pending_updates"))
        return True

    async def m_deleteWebhook(self, p: Params, call: Call) -> Any:
        self.updates.set_webhook(None, p.get_bool("drop_pending_updates"))
        return True

    async def m_getWebhookInfo(self, p: Params, call: Call) -> Any:
        hook = self.updates.webhook
        info: dict[str, Any] = {
            "url": hook.url if hook else "",
            "has_custom_certificate": False,
            "pending_update_count": len(self.updates.pending),
        }
        if hook is not None:
            info["max_connections"] = hook.max_connections
            if hook.last_error_date is not None:
                info["last_error_date"] = hook.last_error_date
                info["last_error_message"] = hook.last_error_message
        if self.updates.allowed_updates:
            info["allowed_updates"] = self.updates.allowed_updates
        return info

    def _commands_key(self, p: Params) -> tuple[str, str]:
        scope = p.get_json("scope") or {"type": "default"}
        return (str(sorted(scope.items())), p.get_str("language_code") or "")

    async def m_setMyCommands(self, p: Params, call: Call) -> Any:
        commands = p.get_json("commands") or []
        if len(commands) > 100:
            raise bad_request("too many commands")
        for command in commands:
            if not re.fullmatch(r"[a-z0-9_]{1,32}", str(command.get("command", ""))):
                raise bad_request("BOT_COMMAND_INVALID")
            if not 1 <= len(str(command.get("description", ""))) <= 256:
                raise bad_request("command description must be non-empty")
        self.commands[self._commands_key(p)] = commands
        return True

    async def m_getMyCommands(self, p: Params, call: Call) -> Any:
        return self.commands.get(self._commands_key(p), [])

    async def m_deleteMyCommands(self, p: Params, call: Call) -> Any:
        self.commands.pop(self._commands_key(p), None)
        return True

    async def m_sendMessage(self, p: Params, call: Call) -> Any:
        chat = self.target(p, call)
        text, entities = self.text_of(p)
        markup, reply_to = self.markup_of(p), self.reply_of(p, chat)
        self.spend(call, chat)
        message = self._bot_message(
            chat, p, text=text, entities=entities, reply_markup=markup, reply_to=reply_to
        )
        chat.record_event("message", message.message_id, text, final=True)
        return self.message_json(chat, message)

    def _editable(self, p: Params, call: Call) -> tuple[ChatState, ChatMessage]:
        chat = self.target(p, call)
        message_id = p.get_int("message_id", required=True)
        message = chat.find(message_id) if message_id is not None else None
        if message is None or message.deleted:
            raise bad_request("message to edit not found")
        if not message.from_bot:
            raise bad_request("message can't be edited")
        return chat, message

    async def m_editMessageText(self, p: Params, call: Call) -> Any:
        if p.has("inline_message_id"):
            return True
        chat, message = self._editable(p, call)
        if message.photo is not None:
            raise bad_request("there is no text in the message to edit")
        text, entities = self.text_of(p)
        markup = self.markup_of(p)
        if (
            text == message.text
            and _entities_key(entities) == _entities_key(message.entities)
            and markup == message.reply_markup
        ):
            raise bad_request(NOT_MODIFIED)
        self.spend(call, chat)
        message.text, message.entities, message.reply_markup = text, entities, markup
        message.versions.append(Version(time.time(), text, entities, markup))
        chat.record_event("edit", message.message_id, text, final=True)
        return self.message_json(chat, message)

    async def m_editMessageReplyMarkup(self, p: Params, call: Call) -> Any:
        if p.has("inline_message_id"):
            return True
        chat, message = self._editable(p, call)
        markup = self.markup_of(p)
        if markup == message.reply_markup:
            raise bad_request(NOT_MODIFIED)
        self.spend(call, chat)
        message.reply_markup = markup
        message.versions.append(Version(time.time(), message.text, message.entities, markup))
        return self.message_json(chat, message)

    async def m_deleteMessage(self, p: Params, call: Call) -> Any:
        chat = self.target(p, call)
        message = chat.find(p.get_int("message_id", required=True) or 0)
        if message is None or message.deleted:
            raise bad_request("message to delete not found")
        message.deleted = True
        chat.record_event("delete", message.message_id, "", final=False)
        return True

    async def m_sendMessageDraft(self, p: Params, call: Call) -> Any:
        chat = self.target(p, call)
        if chat.type != "private":
            raise bad_request("TEXTDRAFT_PEER_INVALID")
        draft_id = p.get_int("draft_id", required=True)
        if not draft_id:
            raise bad_request("DRAFT_ID_INVALID")
        text, entities = self.text_of(p, empty_ok=True)
        self.spend(call, chat)
        draft = Draft(
            time.time(),
            draft_id,
            text,
            entities,
            p.get_int("message_thread_id"),
            p.get_bool("can_stop"),
            p.get_bool("keep_on_stop"),
        )
        chat.drafts.append(draft)
        chat.current_draft = draft
        chat.record_event("draft", draft_id, text, final=False)
        return True

    async def m_sendChatAction(self, p: Params, call: Call) -> Any:
        chat = self.target(p, call)
        action = p.get_str("action") or ""
        if action not in CHAT_ACTIONS:
            raise bad_request("wrong parameter action in request")
        chat.actions.append((time.time(), action))
        return True

    async def m_sendPhoto(self, p: Params, call: Call) -> Any:
        chat = self.target(p, call)
        upload = p.file("photo")
        if upload is not None:
            data = upload.data
            if len(data) > MAX_PHOTO_BYTES:
                raise TelegramError(413, "Request Entity Too Large")
            if image_size(data) is None:
                raise bad_request("IMAGE_PROCESS_FAILED")
            file_id = f"AgAC{len(self.files) + 1:06d}"
        else:
            file_id = p.get_str("photo") or ""
            if file_id not in self.files:
                raise bad_request("wrong file identifier/HTTP URL specified")
            data = self.files[file_id]
        caption, entities = self.text_of(p, "caption", limit=1024, empty_ok=True)
        markup, reply_to = self.markup_of(p), self.reply_of(p, chat)
        self.spend(call, chat)
        self.files[file_id] = data
        message = self._bot_message(
            chat,
            p,
            caption=caption or None,
            entities=entities,
            photo=data,
            photo_file_id=file_id,
            reply_markup=markup,
            reply_to=reply_to,
        )
        chat.record_event("photo", message.message_id, caption, final=True)
        return self.message_json(chat, message)

    async def m_answerCallbackQuery(self, p: Params, call: Call) -> Any:
        query_id = p.get_str("callback_query_id") or ""
        if query_id not in self.callback_answers or self.callback_answers[query_id]:
            raise bad_request(
                "query is too old and response timeout expired or query ID is invalid"
            )
        if len(p.get_str("text") or "") > 200:
            raise bad_request("MESSAGE_TOO_LONG")
        self.callback_answers[query_id] = {
            "text": p.get_str("text"),
            "show_alert": p.get_bool("show_alert"),
        }
        return True

    async def m_getFile(self, p: Params, call: Call) -> Any:
        file_id = p.get_str("file_id") or ""
        if file_id not in self.files:
            raise bad_request("invalid file_id")
        return {
            "file_id": file_id,
            "file_unique_id": f"u{file_id}",
            "file_size": len(self.files[file_id]),
            "file_path": f"photos/{file_id}.jpg",
        }
