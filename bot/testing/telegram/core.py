"""State of the fake Bot API and the checks every method shares (chat, limits, text, markup).

Wording comes from real answers (https://core.telegram.org/bots/api#making-requests, and
those quoted in public bots' issue trackers).
"""

from __future__ import annotations

import asyncio
import importlib.util
import logging
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.testing.telegram.flood import FloodControl
from bot.testing.telegram.html import parse_html
from bot.testing.telegram.state import Call, ChatMessage, ChatState, FakeFile, Version
from bot.testing.telegram.updates import UpdateQueue
from bot.testing.telegram.wire import (
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
)
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


def entities_key(entities: list[dict[str, Any]]) -> list[tuple[tuple[str, str], ...]]:
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


def media_json(m: ChatMessage) -> dict[str, Any]:
    """A Document, Audio, Video, Animation or Sticker object for `m`'s file (the fields the
    Bot API requires; sizes the fake does not know are 0)."""
    out: dict[str, Any] = {"file_id": m.media_file_id or "",
                           "file_unique_id": f"u{m.media_file_id}"}
    if m.media is not None:
        out["file_size"] = len(m.media)
    if m.kind == "sticker":
        return {**out, "type": "regular", "width": 512, "height": 512, "is_animated": False,
                "is_video": False}
    if m.kind in ("video", "animation"):
        out.update(width=0, height=0, duration=m.media_duration)
    elif m.kind in ("audio", "video_note"):
        out["duration"] = m.media_duration
        if m.kind == "video_note":
            out["length"] = 0
    if m.media_name and m.kind != "video_note":
        out["file_name"] = m.media_name
    if m.media_mime and m.kind != "video_note":
        out["mime_type"] = m.media_mime
    return out


class BotApiCore:
    """State and shared checks (methods: methods.py, test API: users.py, HTTP: server)."""

    def __init__(self, token: str, bot_username: str) -> None:
        self.token = token
        bot_id = int(token.split(":", 1)[0]) if token.split(":", 1)[0].isdigit() else 42
        self.bot_user: dict[str, Any] = {
            "id": bot_id,
            "is_bot": True,
            "first_name": "FM Test Bot",
            "username": bot_username,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
            "supports_guest_queries": True,  # guest mode on in @BotFather (guest.py)
        }
        self.chats: dict[int, ChatState] = {}
        self.calls: list[Call] = []
        self.flood = FloodControl()
        self.updates = UpdateQueue()
        self.files: dict[str, bytes] = {}
        self.file_meta: dict[str, FakeFile] = {}  # paths, types and faults (files.py)
        self.downloads: list[str] = []  # file paths served by /file/bot<token>/..., in order
        self.commands: dict[tuple[str, str], list[dict[str, Any]]] = {}
        self.callback_answers: dict[str, dict[str, Any]] = {}
        self.unknown_methods: Counter[str] = Counter()
        self.faults: dict[str, list[Fault]] = {}
        # Parameters answered 400 naming them, as a server older than the parameter does.
        self.refuse_fields: set[str] = set()
        # ... and parameters it drops unread, as a server older than them does.
        self.ignore_fields: set[str] = set()
        self.count_429 = 0
        self.count_flood_429 = 0
        # Awaited after a call succeeded, before its answer goes back: a test can do something
        # between Telegram accepting a message and the bot learning that it did.
        self.before_reply: Callable[[Call], Awaitable[None]] | None = None
        self.version = 0
        self.methods: dict[str, Handler] = {
            name[2:].lower(): getattr(self, name) for name in dir(self) if name.startswith("m_")
        }
        self._changed = asyncio.Event()
        # Forums (forum.py): chat -> the bot may manage topics; topics; members' statuses.
        self.forums: dict[int, bool] = {}
        self.topics: dict[int, dict[int, Any]] = {}
        self.members: dict[int, dict[int, str]] = {}

    def check_thread(self, chat: ChatState, p: Params) -> None:
        """Forum topics check the thread a message goes to (forum.py)."""

    def _notify(self) -> None:
        """Something changed: wake every ``wait_for``."""
        self.version += 1
        self._changed.set()
        self._changed = asyncio.Event()

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
                    flood = self.flood
                    until = flood.clock() + fault.retry_after * flood.limits.time_scale
                    draft = method.lower() == "sendmessagedraft"
                    self.flood.penalise(int(chat_id), until, draft=draft)
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
        if "forumtopic" not in call.method.lower():  # there the thread is the subject
            self.check_thread(chat, p)  # before the flood budget: a refused send costs nothing
        return chat

    def spend(self, call: Call, chat: ChatState) -> None:
        flood = self.flood
        retry = flood.check(call.method, chat.chat_id, chat.type, flood.clock())
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
            "chat": {**chat.chat_json(), **({"is_forum": True} if chat.chat_id in self.forums
                                            else {})},
            "from": self.bot_user if m.from_bot else m.user,
        }
        if m.thread_id is not None:
            out["message_thread_id"] = m.thread_id
            if chat.chat_id in self.forums:
                out["is_topic_message"] = True
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
        elif m.voice is not None:
            out["voice"] = {"file_id": m.voice_file_id, "file_unique_id": f"u{m.voice_file_id}",
                            "duration": m.voice_duration, "file_size": len(m.voice)}
            if m.voice_mime:
                out["voice"]["mime_type"] = m.voice_mime
        elif m.kind is not None:  # a document, audio, video, animation or sticker
            out[m.kind] = media_json(m)
            if m.caption:
                out["caption"] = m.caption
                if m.entities:
                    out["caption_entities"] = m.entities
        elif m.rich is not None:  # a rich message (rich.py)
            out["rich_message"] = m.rich
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
