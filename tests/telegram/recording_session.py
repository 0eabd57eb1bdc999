"""A recording aiogram session for tests, and an in-process Telegram chat simulator.

``RecordingSession`` is a ``BaseSession`` (the model is aiogram's own tests/mocked_bot.py):
every request is recorded, and the reply comes from a FIFO queue of scripted replies, then a
``responder`` callable, then a default success. Replies go through aiogram's real
``check_response``, so a 429 raises the real ``TelegramRetryAfter`` and a 400 the real
``TelegramBadRequest``.

The outbox posts its own calls as JSON bodies (bot/telegram/outbox/botapi.py): ``post_json``
reads such a body the way the Bot API does (the method by name, absent fields left unset, so
no parse mode) into the aiogram method object, records and answers it like any other request,
and hands back the HTTP status and JSON body for the outbox to read.

``ChatSimulator`` is a responder that keeps what each chat shows (messages, edits, drafts),
answers like Telegram does ("message is not modified", "message to edit not found", 4096
limit, drafts only in private chats) and enforces flood limits (per chat and per bot) with
429 + retry_after, counting every violation.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import deque
from collections.abc import AsyncGenerator, Callable
from dataclasses import dataclass, field
from typing import Any

from aiogram import Bot
from aiogram.client.default import Default
from aiogram.client.session.base import BaseSession
from aiogram.methods import (
    DeleteMessage,
    EditMessageText,
    SendChatAction,
    SendMessage,
    SendMessageDraft,
    SendPhoto,
    SendRichMessage,
    SendRichMessageDraft,
    TelegramMethod,
)
from aiogram.methods.base import TelegramType
from aiogram.types import MessageEntity, TelegramObject, User


def loop_now() -> float:
    """The running loop's clock: real time normally, virtual time under ``looptime``."""
    try:
        return asyncio.get_running_loop().time()
    except RuntimeError:
        return time.monotonic()


@dataclass(frozen=True)
class Reply:
    """One scripted Bot API answer (HTTP status is derived from error_code)."""

    ok: bool = True
    result: Any = True
    error_code: int | None = None
    description: str | None = None
    retry_after: int | None = None

    @classmethod
    def error(cls, error_code: int, description: str, retry_after: int | None = None) -> Reply:
        return cls(False, None, error_code, description, retry_after)

    @classmethod
    def flood(cls, retry_after: int = 1) -> Reply:
        return cls.error(429, f"Too Many Requests: retry after {retry_after}", retry_after)

    def payload(self) -> dict[str, Any]:
        if self.ok:
            result = self.result
            if isinstance(result, TelegramObject):
                result = result.model_dump(mode="json", exclude_none=True)
            return {"ok": True, "result": result}
        body: dict[str, Any] = {"ok": False, "error_code": self.error_code}
        body["description"] = self.description
        if self.retry_after is not None:
            body["parameters"] = {"retry_after": self.retry_after}
        return body


@dataclass(frozen=True)
class RecordedRequest:
    method: TelegramMethod[Any]
    at: float
    reply: Reply


WIRE_METHODS: tuple[type[TelegramMethod[Any]], ...] = (
    SendMessageDraft,
    SendMessage,
    SendRichMessage,
    SendRichMessageDraft,
    EditMessageText,
    SendChatAction,
    DeleteMessage,
    SendPhoto,
)
Responder = Callable[[TelegramMethod[Any]], Reply | None]


class RecordingSession(BaseSession):
    def __init__(self, responder: Responder | None = None) -> None:
        super().__init__()
        self.responder = responder
        self.requests: list[RecordedRequest] = []
        self._queued: deque[tuple[type[TelegramMethod[Any]] | None, Reply]] = deque()
        self._next_id = 1000

    def add_reply(
        self, reply: Reply, method_type: type[TelegramMethod[Any]] | None = None
    ) -> None:
        """Queue a reply for the next request of ``method_type`` (any method if None). FIFO."""
        self._queued.append((method_type, reply))

    def calls(self, method_type: type[TelegramMethod[Any]]) -> list[Any]:
        return [r.method for r in self.requests if isinstance(r.method, method_type)]

    async def make_request(
        self,
        bot: Bot,
        method: TelegramMethod[TelegramType],
        timeout: int | None = None,  # noqa: ASYNC109 - BaseSession's signature
    ) -> TelegramType:
        reply = self._reply_for(method)
        status = 200 if reply.ok else (reply.error_code or 400)
        response = self.check_response(bot, method, status, json.dumps(reply.payload()))
        return response.result  # type: ignore[return-value]

    async def post_json(self, bot: Bot, name: str, body: bytes) -> tuple[int, str]:
        params = json.loads(body)
        method_type = next(m for m in WIRE_METHODS if m.__api_method__ == name)
        for name_, info in method_type.model_fields.items():
            if isinstance(info.default, Default) and name_ not in params:
                params[name_] = None  # absent on the wire: no value, not the bot's default
        method = method_type.model_validate(params)
        reply = self._reply_for(method)
        status = 200 if reply.ok else (reply.error_code or 400)
        return status, json.dumps(reply.payload())

    def _reply_for(self, method: TelegramMethod[Any]) -> Reply:
        reply = self._take_queued(method)
        if reply is None and self.responder is not None:
            reply = self.responder(method)
        if reply is None:
            reply = self.default_reply(method)
        self.requests.append(RecordedRequest(method=method, at=loop_now(), reply=reply))
        return reply

    def _take_queued(self, method: TelegramMethod[Any]) -> Reply | None:
        for index, (method_type, reply) in enumerate(self._queued):
            if method_type is None or isinstance(method, method_type):
                del self._queued[index]
                return reply
        return None

    def default_reply(self, method: TelegramMethod[Any]) -> Reply:
        if isinstance(method, SendMessage | SendPhoto | SendRichMessage):
            self._next_id += 1
            return Reply(result=message_dict(method.chat_id, self._next_id, method))
        if isinstance(method, EditMessageText):
            return Reply(result=message_dict(method.chat_id, method.message_id or 0, method))
        return Reply(result=True)

    async def close(self) -> None:
        return None

    async def stream_content(
        self,
        url: str,
        headers: dict[str, Any] | None = None,
        timeout: int = 30,  # noqa: ASYNC109 - BaseSession's signature
        chunk_size: int = 65536,
        raise_for_status: bool = True,
    ) -> AsyncGenerator[bytes, None]:
        yield b""


def message_dict(chat_id: Any, message_id: int, method: Any) -> dict[str, Any]:
    chat_id = int(chat_id or 0)
    chat_type = "private" if chat_id > 0 else "supergroup"
    message: dict[str, Any] = {
        "message_id": message_id,
        "date": int(time.time()),
        "chat": {"id": chat_id, "type": chat_type},
    }
    if isinstance(method, SendPhoto):
        message["photo"] = [{"file_id": "p", "file_unique_id": "p", "width": 1, "height": 1}]
    else:
        message["text"] = getattr(method, "text", "") or ""
    ephemeral = getattr(method, "ephemeral_message_parameters", None)
    if ephemeral is not None:  # shown to its receiver alone: message_id 0 (Bot API 10.2)
        message["message_id"] = 0
        message["ephemeral_message_id"] = message_id
        message["receiver_user"] = {"id": ephemeral.receiver_user_id, "is_bot": False,
                                    "first_name": str(ephemeral.receiver_user_id)}
    return message


def make_bot(session: RecordingSession) -> Bot:
    """A real aiogram Bot on the recording session, with getMe pre-seeded (no request)."""
    bot = Bot("42:TEST", session=session)
    bot._me = User(id=42, is_bot=True, first_name="Test", username="test_bot")
    return bot


@dataclass
class Shown:
    text: str
    entities: list[MessageEntity] = field(default_factory=list)


def _utf16(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


class ChatSimulator:
    """Responder that behaves like Telegram for the methods the outbox uses.

    Every call but chat actions and drafts (messages, edits, photos, deletes) spends one chat
    budget, as the fake Bot API server models Telegram's limits (bot/testing/telegram/flood.py): a
    private chat allows a burst of ``private_burst`` and then one per ``private_interval``; a
    group ``group_per_minute`` in any minute; the bot ``global_rate`` calls per second, drafts
    not counted; drafts have their own budget per chat, ``draft_burst`` then one per
    ``draft_interval`` (``time_scale`` shrinks seconds for fast tests; an interval of 0 turns
    that limit off); a violation answers 429 and is counted.
    """

    def __init__(
        self,
        *,
        private_interval: float = 1.0,
        group_interval: float = 3.0,
        private_burst: float = 3.0,
        group_per_minute: int = 20,
        global_rate: float = 30.0,
        time_scale: float = 1.0,
        tolerance: float = 0.1,
        drafts: bool = True,
        draft_interval: float = 0.2,
        draft_burst: float = 5.0,
    ) -> None:
        self.draft_interval = draft_interval * time_scale
        self.draft_burst = draft_burst
        self._draft_buckets: dict[int, tuple[float, float]] = {}
        self.private_interval = private_interval * time_scale
        self.group_interval = group_interval * time_scale
        self.private_burst = private_burst
        self.group_per_minute = group_per_minute
        self.global_rate = global_rate
        self.window = time_scale
        self.tolerance = tolerance
        self.drafts_enabled = drafts
        self.messages: dict[int, dict[int, Shown]] = {}
        self.drafts: dict[tuple[int, int], Shown] = {}
        self.blocked: set[int] = set()
        self.violations: list[tuple[str, int, str]] = []  # (kind, chat id, method)
        self._buckets: dict[int, tuple[float, float]] = {}  # chat id -> (tokens, stamp)
        self._group_calls: dict[int, deque[float]] = {}
        self._global: deque[float] = deque()
        self._next_id = 0

    def visible(self, chat_id: int) -> list[Shown]:
        """Messages the chat shows now, oldest first."""
        chat = self.messages.get(chat_id, {})
        return [chat[k] for k in sorted(chat)]

    def __call__(self, method: TelegramMethod[Any]) -> Reply | None:
        chat_id = int(getattr(method, "chat_id", 0) or 0)
        if chat_id in self.blocked:
            return Reply.error(403, "Forbidden: bot was blocked by the user")
        if isinstance(method, SendMessageDraft) and not self.drafts_enabled:
            return Reply.error(400, "Bad Request: method not available")
        if isinstance(method, SendMessageDraft) and chat_id < 0:
            return Reply.error(400, "Bad Request: drafts are available only in private chats")
        heavy = not isinstance(method, SendChatAction)
        if (flood := self._check_limits(chat_id, heavy, method)) is not None:
            return flood
        if isinstance(method, SendMessage | SendMessageDraft | EditMessageText):
            shown = Shown(method.text or "", list(method.entities or []))
            if error := self._validate(shown, empty_ok=isinstance(method, SendMessageDraft)):
                return error
            if isinstance(method, SendMessageDraft):
                self.drafts[(chat_id, method.draft_id)] = shown
                return Reply(result=True)
            chat = self.messages.setdefault(chat_id, {})
            if isinstance(method, EditMessageText):
                message_id = method.message_id or 0
                if message_id not in chat:
                    return Reply.error(400, "Bad Request: message to edit not found")
                if chat[message_id] == shown:
                    return Reply.error(
                        400,
                        "Bad Request: message is not modified: specified new "
                        "message content and reply markup are exactly the same",
                    )
            else:
                self._next_id += 1
                message_id = self._next_id
            chat[message_id] = shown
            return Reply(result=message_dict(chat_id, message_id, method))
        if isinstance(method, DeleteMessage):
            if self.messages.get(chat_id, {}).pop(method.message_id, None) is None:
                return Reply.error(400, "Bad Request: message to delete not found")
            return Reply(result=True)
        if isinstance(method, SendPhoto):
            self._next_id += 1
            return Reply(result=message_dict(chat_id, self._next_id, method))
        return None

    def _check_limits(
        self, chat_id: int, heavy: bool, method: TelegramMethod[Any]
    ) -> Reply | None:
        now = loop_now()
        name = type(method).__name__
        if isinstance(method, SendMessageDraft):
            if self.draft_interval <= 0:
                return None
            tokens, stamp = self._draft_buckets.get(chat_id, (self.draft_burst, now))
            tokens = min(self.draft_burst, tokens + (now - stamp) / self.draft_interval)
            if tokens < 1.0 - self.tolerance:
                self.violations.append(("draft", chat_id, name))
                return Reply.flood(1)
            self._draft_buckets[chat_id] = (tokens - 1.0, now)
            return None
        # A call exactly one window ago has left it: on the tests' virtual clock calls land on
        # the window's edge exactly, give or take float error (1e-17 s).
        while self._global and self._global[0] <= now - self.window + 1e-6:
            self._global.popleft()
        if len(self._global) >= self.global_rate * (1 + self.tolerance):
            self.violations.append(("global", chat_id, name))
            return Reply.flood(1)
        self._global.append(now)
        if heavy and chat_id > 0 and self.private_interval > 0:
            tokens, stamp = self._buckets.get(chat_id, (self.private_burst, now))
            if self.private_interval > 0:
                tokens = min(self.private_burst, tokens + (now - stamp) / self.private_interval)
            if tokens < 1.0 - self.tolerance:
                self.violations.append(("chat", chat_id, name))
                return Reply.flood(1)
            self._buckets[chat_id] = (tokens - 1.0, now)
        elif heavy and chat_id < 0 and self.group_interval > 0:
            calls = self._group_calls.setdefault(chat_id, deque())
            minute = 60.0 * self.window
            while calls and calls[0] <= now - minute + 1e-6:
                calls.popleft()
            if len(calls) >= self.group_per_minute:
                self.violations.append(("chat", chat_id, name))
                return Reply.flood(1)
            calls.append(now)
        return None

    @staticmethod
    def _validate(shown: Shown, *, empty_ok: bool) -> Reply | None:
        length = _utf16(shown.text)
        if length == 0 and not empty_ok:
            return Reply.error(400, "Bad Request: message text is empty")
        if length > 4096:
            return Reply.error(400, "Bad Request: message is too long")
        for e in shown.entities:
            if e.offset < 0 or e.length <= 0 or e.offset + e.length > length:
                return Reply.error(
                    400,
                    f"Bad Request: entity beginning at UTF-16 offset "
                    f"{e.offset} ends after the end of the text",
                )
        return None


# -- the outbox tests' old setup, for the files not yet on the kit's FakeTelegram -------------

def setup(
    *, drafts: bool = True, scale: float = 0.05, **outbox_kwargs: Any
) -> tuple[Any, RecordingSession, ChatSimulator]:
    """Outbox + simulator with Telegram's limits scaled by ``scale`` (seconds per second)."""
    from bot.telegram.outbox import Outbox, Pacing

    sim = ChatSimulator(time_scale=scale, drafts=drafts)
    session = RecordingSession(sim)
    options: dict[str, Any] = {
        "private_interval": 1.05 * scale,
        "draft_interval": 1.0 * scale,
        "group_interval": 3.6 * scale,
        "global_rate": 30 / scale,
        "global_window": scale,  # the simulator counts 30 in any (scaled) second
        "group_window": 60 * scale,
        "typing_interval": 4.5 * scale,
        "draft_keepalive": 20 * scale,
        "final_preview_after": 0.25 * scale,
        "retry_after_scale": scale,
        "backoff": 0.01,
    }
    outbox = Outbox(make_bot(session), Pacing(**(options | outbox_kwargs)))
    return outbox, session, sim


def expected(markdown: str) -> list[Shown]:
    from bot.telegram.render import render_markdown, split_rendered

    return [Shown(p.text, p.entities) for p in split_rendered(render_markdown(markdown))]
