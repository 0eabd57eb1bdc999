"""What each chat of the fake Bot API "shows": messages with their edits, the draft, timing.

Times are wall-clock ``time.time()`` seconds so that a driver in another process (benchmarks)
can compare them with its own clock and with the fake Foundation Models server's.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

DRAFT_TTL = 30.0  # "a temporary 30-second preview" (core.telegram.org/bots/api#sendmessagedraft)


@dataclass
class Version:
    """One state of a message: as sent, then after each edit."""

    at: float
    text: str | None
    entities: list[dict[str, Any]]
    reply_markup: dict[str, Any] | None = None


@dataclass
class ChatMessage:
    message_id: int
    chat_id: int
    from_bot: bool
    sent_at: float
    text: str | None = None
    entities: list[dict[str, Any]] = field(default_factory=list)
    caption: str | None = None
    photo: bytes | None = None
    photo_file_id: str | None = None
    voice: bytes | None = None  # sendVoice: the OggOpus file and its file id
    voice_file_id: str | None = None
    # What the sender declared (Voice.duration and Voice.mime_type are "as defined by the
    # sender": https://core.telegram.org/bots/api#voice): sendVoice's `duration` and the
    # upload part's content type.
    voice_duration: int = 0
    voice_mime: str | None = None
    reply_markup: dict[str, Any] | None = None
    reply_to: int | None = None
    thread_id: int | None = None
    user: dict[str, Any] | None = None
    rich: dict[str, Any] | None = None  # a rich message's RichMessage (rich.py)
    # ... and its InputRichMessage as the bot sent it (Markdown, HTML or blocks).
    rich_source: dict[str, Any] | None = None
    # Any other file: sendDocument, sendAudio, sendVideo, sendAnimation, sendSticker, or a
    # user's file of that kind ("document", "audio", ...); its bytes, id, name and type.
    kind: str | None = None
    media: bytes | None = None
    media_file_id: str | None = None
    media_name: str | None = None
    media_mime: str | None = None
    media_duration: int = 0
    versions: list[Version] = field(default_factory=list)
    deleted: bool = False
    # An ephemeral message (Bot API 10.2, ephemeral.py): only `receiver` sees it; its
    # `message_id` is 0 on the wire, `ephemeral_message_id` addresses it.
    receiver: int | None = None
    ephemeral_message_id: int | None = None

    @property
    def edits(self) -> list[Version]:
        return self.versions[1:]

    @property
    def last_change_at(self) -> float:
        return self.versions[-1].at if self.versions else self.sent_at

    def to_json(self) -> dict[str, Any]:
        return {
            "message_id": self.message_id,
            "from_bot": self.from_bot,
            "sent_at": self.sent_at,
            "text": self.text,
            "entities": self.entities,
            "caption": self.caption,
            "has_photo": self.photo is not None,
            "photo_size": len(self.photo) if self.photo is not None else None,
            "voice_size": len(self.voice) if self.voice is not None else None,
            "kind": self.kind,
            "media_size": len(self.media) if self.media is not None else None,
            "reply_markup": self.reply_markup,
            "rich": self.rich,
            "reply_to": self.reply_to,
            "thread_id": self.thread_id,
            "deleted": self.deleted,
            "edits": [{"at": v.at, "text": v.text} for v in self.edits],
            "receiver": self.receiver,
            "ephemeral_message_id": self.ephemeral_message_id,
        }


@dataclass
class Draft:
    at: float
    draft_id: int
    text: str
    entities: list[dict[str, Any]]
    thread_id: int | None = None
    can_stop: bool = False
    keep_on_stop: bool = False
    rich: dict[str, Any] | None = None  # a rich draft's RichMessage (rich.py)


@dataclass
class Event:
    """Something the user saw change: a draft frame, a new message, an edit, a photo."""

    at: float
    kind: str  # "draft" | "message" | "edit" | "photo" | "delete"
    ref: int  # message_id, or draft_id for drafts
    text: str


@dataclass
class ChatState:
    chat_id: int
    type: str  # "private" | "group" | "supergroup" | "channel"
    title: str | None = None
    user: dict[str, Any] | None = None
    history: list[ChatMessage] = field(default_factory=list)
    drafts: list[Draft] = field(default_factory=list)
    actions: list[tuple[float, str]] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)
    calls: Counter[str] = field(default_factory=Counter)
    current_draft: Draft | None = None
    blocked: bool = False
    next_message_id: int = 1
    first_visible_at: float | None = None
    final_text_at: float | None = None

    @property
    def messages(self) -> list[ChatMessage]:
        """Messages still visible to every member (user's and bot's), oldest first; an
        ephemeral message is not among them (see `seen_by`)."""
        return [m for m in self.history if not m.deleted and m.receiver is None]

    @property
    def bot_messages(self) -> list[ChatMessage]:
        return [m for m in self.messages if m.from_bot]

    @property
    def ephemeral(self) -> list[ChatMessage]:
        """The bot's ephemeral messages, whoever received them, oldest first."""
        return [m for m in self.history if m.receiver is not None and not m.deleted]

    def seen_by(self, user_id: int) -> list[ChatMessage]:
        """What `user_id` sees in this chat: every member's messages and the ephemeral
        messages sent to them alone, oldest first."""
        return [m for m in self.history
                if not m.deleted and m.receiver in (None, user_id)]

    def bot_messages_seen_by(self, user_id: int) -> list[ChatMessage]:
        return [m for m in self.seen_by(user_id) if m.from_bot]

    @property
    def draft(self) -> Draft | None:
        if self.current_draft and time.time() - self.current_draft.at > DRAFT_TTL:
            return None
        return self.current_draft

    def find(self, message_id: int) -> ChatMessage | None:
        for message in reversed(self.history):
            if message.message_id == message_id:
                return message
        return None

    def take_message_id(self) -> int:
        self.next_message_id += 1
        return self.next_message_id - 1

    def record_event(self, kind: str, ref: int, text: str, *, final: bool) -> None:
        now = time.time()
        self.events.append(Event(now, kind, ref, text))
        if text and self.first_visible_at is None:
            self.first_visible_at = now
        if final:
            self.final_text_at = now

    def timing_since(self, since: float) -> tuple[float | None, float | None]:
        """(first visible text, last final text) among the events at or after ``since``."""
        recent = [e for e in self.events if e.at >= since]
        first = next((e.at for e in recent if e.text), None)
        final = max((e.at for e in recent if e.kind in ("message", "edit", "photo")), default=None)
        return first, final

    def reset_timing(self) -> None:
        self.first_visible_at = None
        self.final_text_at = None

    def chat_json(self) -> dict[str, Any]:
        if self.type == "private":
            user = self.user or {}
            out = {"id": self.chat_id, "type": "private", "first_name": user.get("first_name", "")}
            if user.get("username"):
                out["username"] = user["username"]
            return out
        return {
            "id": self.chat_id,
            "type": self.type,
            "title": self.title or f"chat {self.chat_id}",
        }

    def to_json(self) -> dict[str, Any]:
        draft = self.draft
        return {
            "chat_id": self.chat_id,
            "type": self.type,
            "title": self.title,
            "messages": [m.to_json() for m in self.history],
            "draft": None
            if draft is None
            else {
                "draft_id": draft.draft_id,
                "text": draft.text,
                "at": draft.at,
                "can_stop": draft.can_stop,
            },
            "draft_frames": len(self.drafts),
            "actions": [a for _, a in self.actions],
            "events": [
                {"at": e.at, "kind": e.kind, "ref": e.ref, "text": e.text} for e in self.events
            ],
            "calls": dict(self.calls),
            "blocked": self.blocked,
            "first_visible_at": self.first_visible_at,
            "final_text_at": self.final_text_at,
        }


@dataclass
class Call:
    """One Bot API request as the fake saw it."""

    at: float
    method: str
    params: dict[str, Any]
    chat_id: int | None
    status: int = 200
    description: str | None = None
    # The client had hung up before the answer was ready (nobody read it): a poller that
    # stopped or died leaves its long poll open here until the next getUpdates ends it (409).
    unread: bool = False

    def to_json(self) -> dict[str, Any]:
        return {
            "at": self.at,
            "method": self.method,
            "chat_id": self.chat_id,
            "status": self.status,
            "description": self.description,
            "unread": self.unread,
        }


@dataclass(slots=True)
class FakeFile:
    """A file the fake serves by getFile: its path, type and the faults of its download."""

    file_id: str
    file_path: str
    mime_type: str
    delay: float = 0.0  # seconds before the body is sent
    announced_size: int | None = None  # getFile's file_size when it should lie (None: true)
    omit_size: bool = False  # getFile answers without file_size
    chunk_delay: float = 0.0  # seconds between 64 KB chunks of the body
