"""What the kit's Telegram shows a test: each Bot API call the bot made (`SentCall`), each message
it sent as its chat shows it now (`Shown`, read from the fake's state), and the Bot API's
`Message` for one (`message_of`), and every message it sent by (chat, message id) as the
chats show them (`ShownView`: `FakeTelegram.shown`)."""

from __future__ import annotations

import functools
import json
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from aiogram import methods as aiogram_methods
from aiogram.client.default import Default
from aiogram.methods import TelegramMethod
from aiogram.types import User

from bot.testing.telegram.state import ChatMessage


@dataclass(frozen=True, slots=True)
class SentCall:
    """One Bot API call the bot made."""

    method: str
    """The Bot API method, e.g. `sendMessage`."""
    params: dict[str, Any]
    """Its parameters as sent (JSON values; empty ones left out)."""
    chat_id: int | None = None
    """The chat it addressed, when it addressed one."""
    at: float = 0.0
    """When the bot made it, on the running loop's clock (virtual under `looptime`): how a
    test measures a client's pacing."""
    status: int | None = None
    """The HTTP status of Telegram's answer (200, 400, 429...); None while it is not back."""

    def as_method(self) -> TelegramMethod[Any]:
        """The call as an aiogram method object (`SendMessage`...), built from what was sent:
        a field the bot left out is None, not a bot default."""
        method_type = _method_types()[self.method]
        params = dict(self.params)
        for name, info in method_type.model_fields.items():
            if isinstance(info.default, Default) and name not in params:
                params[name] = None  # absent on the wire: no value, not the bot's default
        return method_type.model_validate(params)


@functools.cache
def _method_types() -> dict[str, type[TelegramMethod[Any]]]:
    """aiogram's method types by Bot API name."""
    found: dict[str, type[TelegramMethod[Any]]] = {}
    for name in aiogram_methods.__all__:
        value = getattr(aiogram_methods, name)
        if isinstance(value, type) and issubclass(value, TelegramMethod) and (
                hasattr(value, "__api_method__")):
            found[value.__api_method__] = value
    return found


class Shown:
    """A message the bot sent, as the chat shows it now: read from the fake's state each time,
    so an edit or a delete shows in a `Shown` already held. `chat_id`: its chat (a connected
    account's chat: the id the fake keeps it under, `TestBusiness.chat_id`)."""

    __slots__ = ("_message", "chat_id")

    def __init__(self, chat_id: int, message: ChatMessage) -> None:
        self.chat_id = chat_id
        self._message = message

    @property
    def message_id(self) -> int:
        """Its id in the chat."""
        return self._message.message_id

    @property
    def kind(self) -> str:
        """"text", "rich", "photo", "voice", "document", "audio", "video", "sticker"..."""
        message = self._message
        if message.rich is not None:
            return "rich"
        if message.photo is not None:
            return "photo"
        if message.voice is not None:
            return "voice"
        return message.kind or "text"

    @property
    def text(self) -> str:
        """Its text or caption; a rich message's Markdown or HTML as the bot sent it."""
        message = self._message
        if message.rich is not None:
            source = message.rich_source or {}
            return str(source.get("markdown") or source.get("html")
                       or json.dumps(source.get("blocks", [])))
        return message.text or message.caption or ""

    @property
    def buttons(self) -> list[list[dict[str, Any]]]:
        """Its inline keyboard, rows of buttons (`text`, `callback_data`, `url`...)."""
        markup = self._message.reply_markup or {}
        return list(markup.get("inline_keyboard") or [])

    @property
    def deleted(self) -> bool:
        """Whether it was deleted."""
        return self._message.deleted

    @property
    def rich(self) -> dict[str, Any] | None:
        """A rich message's content as the bot sent it (an `InputRichMessage`: `markdown`,
        `html` or `blocks`), None for a text message; `text` is then its Markdown or HTML."""
        return self._message.rich_source if self._message.rich is not None else None

    @property
    def receiver(self) -> int | None:
        """The one member who sees it (an ephemeral message, e.g. a limit reached in a
        group), or None: the whole chat sees it."""
        return self._message.receiver

    @property
    def ephemeral(self) -> bool:
        """Whether only `receiver` sees it."""
        return self.receiver is not None

    def button_texts(self) -> list[str]:
        """The texts of its inline buttons, row by row."""
        return [button.get("text", "") for row in self.buttons for button in row]

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Shown) and other._message is self._message and (
            other.chat_id == self.chat_id)

    def __hash__(self) -> int:
        return hash((self.chat_id, id(self._message)))

    def __repr__(self) -> str:
        return (f"Shown(message_id={self.message_id}, chat_id={self.chat_id}, "
                f"kind={self.kind!r}, text={self.text!r}, buttons={self.buttons!r}, "
                f"deleted={self.deleted}, receiver={self.receiver})")


def message_of(shown: Shown, me: User) -> dict[str, Any]:
    """The Bot API's Message for a message the bot sent."""
    chat_type = "private" if shown.chat_id > 0 else "supergroup"
    message: dict[str, Any] = {
        "message_id": shown.message_id,
        "date": int(time.time()),
        "chat": {"id": shown.chat_id, "type": chat_type},
        "from": me.model_dump(mode="json", exclude_none=True),
    }
    if shown.kind == "text":
        message["text"] = shown.text
    elif shown.kind == "photo":
        message["photo"] = [{"file_id": "p", "file_unique_id": "p", "width": 1, "height": 1}]
        message["caption"] = shown.text or None
    elif shown.kind == "document":
        message["document"] = {"file_id": "d", "file_unique_id": "d"}
    elif shown.kind == "rich":  # its source as one paragraph: the blocks are Telegram's
        message["rich_message"] = {"blocks": [{"type": "paragraph", "text": shown.text}]}
    else:
        message["text"] = shown.text
    if shown.buttons:
        message["reply_markup"] = {"inline_keyboard": shown.buttons}
    if shown.receiver is not None:  # ephemeral: message_id 0, addressed by its own id
        message["message_id"] = 0
        message["ephemeral_message_id"] = shown.message_id
        message["receiver_user"] = {"id": shown.receiver, "is_bot": False,
                                    "first_name": str(shown.receiver)}
    return {k: v for k, v in message.items() if v is not None}


class ShownView(Mapping[tuple[int, int], Shown]):
    """`FakeTelegram.shown`: the bot's messages, read from the state when asked for. `found`
    looks one up by (chat, message id); `created` lists them in the order the bot sent them."""

    def __init__(self, found: Callable[[tuple[int, int]], Shown | None],
                 created: Callable[[], list[tuple[int, int]]]) -> None:
        self._found, self._created = found, created

    def __getitem__(self, key: tuple[int, int]) -> Shown:
        found = self._found(key)
        if found is None:
            raise KeyError(key)
        return found

    def __iter__(self) -> Iterator[tuple[int, int]]:
        return iter(list(dict.fromkeys(self._created())))

    def __len__(self) -> int:
        return len(set(self._created()))


def shows_something(message: ChatMessage) -> bool:
    """Whether a bot's message shows something (a forum topic's service message does not)."""
    return any(value is not None for value in (message.text, message.caption, message.photo,
                                               message.voice, message.kind, message.rich))
