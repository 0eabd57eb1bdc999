"""The people of a `BotTester`: users who write, send files and press buttons, and groups.

Each action becomes the `Update` Telegram would deliver (a message with its entities, a
photo's sizes, a voice note, a document, a callback query on the pressed message) and
returns the `Reply`: what the bot did in that chat until it was idle again.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from aiogram.types import (
    CallbackQuery,
    Chat,
    Document,
    Message,
    MessageEntity,
    PhotoSize,
    Update,
    User,
    Voice,
)

from bot.testing.errors import BotTesterError
from bot.testing.ogg_opus import ogg_opus
from bot.testing.telegram import BOT_USERNAME, Shown

if TYPE_CHECKING:
    from bot.testing.reply import Reply
    from bot.testing.telegram import FakeTelegram
    from bot.testing.wire import TestModel

_MIME = {".pdf": "application/pdf", ".txt": "text/plain", ".md": "text/markdown",
         ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
         ".csv": "text/csv", ".html": "text/html"}


class Tester(Protocol):
    """What the people need of their `BotTester`: the fake Telegram and model, update ids,
    and one exchange (an update in, the chat's reply out)."""

    @property
    def telegram(self) -> FakeTelegram: ...

    @property
    def model(self) -> TestModel: ...

    def next_update_id(self) -> int: ...

    async def exchange(self, chat_id: int, update: Update, *more: Update) -> Reply: ...


@dataclass(frozen=True, slots=True)
class TestGroup:
    """A supergroup the bot is a member of."""

    __test__ = False
    tester: Tester
    id: int
    title: str
    forum: bool = False

    def chat(self) -> Chat:
        """The group as Telegram describes it in an update."""
        return Chat(id=self.id, type="supergroup", title=self.title, is_forum=self.forum or None)

    async def says(self, user: TestUser, text: str) -> Reply:
        """`user` writes `text` in the group (mention the bot, `@fmbot_test_bot ...`, or reply
        to it for it to answer, as in Telegram)."""
        return await user.says(text, chat=self)


@dataclass(frozen=True, slots=True)
class TestUser:
    """A Telegram user; their private chat with the bot has their id."""

    __test__ = False
    tester: Tester
    id: int
    name: str
    language: str = "en"

    def telegram_user(self) -> User:
        """The user as Telegram describes them in an update."""
        return User(id=self.id, is_bot=False, first_name=self.name, language_code=self.language)

    def _chat(self, group: TestGroup | None) -> Chat:
        if group is not None:
            return group.chat()
        return Chat(id=self.id, type="private", first_name=self.name)

    def _message(self, chat: Chat, **content: Any) -> Message:
        return Message(
            message_id=self.tester.telegram.next_message_id(chat.id),
            date=dt.datetime.now(dt.UTC),
            chat=chat,
            from_user=self.telegram_user(),
            **content,
        )

    async def _send(self, chat: Chat, **content: Any) -> Reply:
        update = Update(update_id=self.tester.next_update_id(),
                        message=self._message(chat, **content))
        return await self.tester.exchange(chat.id, update)

    # -- what a user does ------------------------------------------------------------------------

    async def says(
        self, text: str, *, chat: TestGroup | None = None, reply_to: Shown | None = None
    ) -> Reply:
        """Send `text` (a command starts with `/`); in `chat` when given, else in private.
        `reply_to`: a message of the bot's this one replies to."""
        entities = _entities(text)
        reply = None
        if reply_to is not None:
            reply = Message.model_validate(self.tester.telegram.message_json(reply_to))
        return await self._send(self._chat(chat), text=text, entities=entities or None,
                                reply_to_message=reply)

    async def sends_photo(
        self, path: str | Path, caption: str = "", *, chat: TestGroup | None = None
    ) -> Reply:
        """Send the image at `path` as a photo (with `caption`)."""
        content = await asyncio.to_thread(Path(path).read_bytes)
        file_id = self.tester.telegram.add_file(content, kind="photos")
        sizes = [PhotoSize(file_id=file_id, file_unique_id=file_id, width=1280, height=960,
                           file_size=len(content))]
        return await self._send(self._chat(chat), photo=sizes, caption=caption or None)

    async def sends_album(
        self, paths: Sequence[str | Path], caption: str = "", *, chat: TestGroup | None = None
    ) -> Reply:
        """Send the images at `paths` as one album (`caption` on the first), delivered together
        as Telegram delivers one: a message per photo sharing a `media_group_id`."""
        where = self._chat(chat)
        group = f"album-{self.tester.next_update_id()}"
        updates = []
        for index, path in enumerate(paths):
            content = await asyncio.to_thread(Path(path).read_bytes)
            file_id = self.tester.telegram.add_file(content, kind="photos")
            sizes = [PhotoSize(file_id=file_id, file_unique_id=file_id, width=1280, height=960,
                               file_size=len(content))]
            message = self._message(where, photo=sizes, media_group_id=group,
                                    caption=(caption if index == 0 else "") or None)
            updates.append(Update(update_id=self.tester.next_update_id(), message=message))
        if not updates:
            raise ValueError("an album has at least one photo")
        return await self.tester.exchange(where.id, *updates)

    async def sends_document(
        self, path: str | Path, caption: str = "", *, chat: TestGroup | None = None
    ) -> Reply:
        """Send the file at `path` as a document (with `caption`)."""
        file = Path(path)
        content = await asyncio.to_thread(file.read_bytes)
        file_id = self.tester.telegram.add_file(content, ext=file.suffix.lstrip(".") or None,
                                                mime_type=_MIME.get(file.suffix.lower()))
        document = Document(file_id=file_id, file_unique_id=file_id, file_name=file.name,
                            mime_type=_MIME.get(file.suffix.lower(), "application/octet-stream"),
                            file_size=len(content))
        return await self._send(self._chat(chat), document=document, caption=caption or None)

    async def sends_voice(
        self, said: str, *, path: str | Path | None = None, chat: TestGroup | None = None
    ) -> Reply:
        """Send a voice note in which the user says `said` (what speech recognition hears);
        `path`: the OGG/Opus file to send (default: seconds of silence, about one per 12
        characters said)."""
        seconds = min(29, max(1, len(said) // 12))  # a short note: recognised at once
        content = ogg_opus(seconds, said)
        if path is not None:
            content = await asyncio.to_thread(Path(path).read_bytes)
        self.tester.model.transcripts[content] = said
        file_id = self.tester.telegram.add_file(content, kind="voice")
        voice = Voice(file_id=file_id, file_unique_id=file_id, duration=seconds,
                      mime_type="audio/ogg", file_size=len(content))
        return await self._send(self._chat(chat), voice=voice)

    async def presses(self, button: str, *, on: Shown | None = None) -> Reply:
        """Press the inline button whose text is `button` (or contains it, ignoring case) on
        the newest message showing one (or on `on`)."""
        telegram = self.tester.telegram
        candidates = [on] if on is not None else [
            telegram.shown[key] for key in reversed(telegram.created)
        ]
        seen: list[str] = []
        for shown in candidates:
            if shown.deleted:
                continue
            for row in shown.buttons:
                for item in row:
                    text = str(item.get("text", ""))
                    seen.append(text)
                    if text == button or button.casefold() in text.casefold():
                        return await self._press(shown, item)
        raise BotTesterError(f"no button {button!r} to press (buttons shown: {seen or 'none'})")

    async def _press(self, shown: Shown, button: dict[str, Any]) -> Reply:
        data = button.get("callback_data")
        if data is None:
            raise BotTesterError(f"button {button.get('text')!r} is not a callback button")
        message = Message.model_validate(self.tester.telegram.message_json(shown))
        query = CallbackQuery(
            id=str(self.tester.next_update_id()),
            from_user=self.telegram_user(),
            chat_instance=str(shown.chat_id),
            data=str(data),
            message=message,
        )
        update = Update(update_id=self.tester.next_update_id(), callback_query=query)
        return await self.tester.exchange(shown.chat_id, update)


def _entities(text: str) -> list[MessageEntity]:
    """A leading command, and mentions of the bot, as Telegram marks them."""
    found: list[MessageEntity] = []
    if text.startswith("/"):
        command = text.split(maxsplit=1)[0]
        found.append(MessageEntity(type="bot_command", offset=0, length=_utf16(command)))
    mention = f"@{BOT_USERNAME}"
    start = text.find(mention)
    if start >= 0:
        found.append(MessageEntity(type="mention", offset=_utf16(text[:start]),
                                   length=len(mention)))
    return found


def _utf16(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2
