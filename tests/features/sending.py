"""What the feature tests send that `TestUser` has no verb for yet (a voice note of a given
length, a photo in several sizes, an album, an audio file, a typed document, a press of any
button), built as the Telegram updates they are and fed through `BotTester`'s public API;
pictures with structure to send; the database read back as rows; and the strings of a request
body the bot sent."""

from __future__ import annotations

import asyncio
import datetime as dt
import io
from collections.abc import Callable
from typing import Any, TypeVar

from aiogram.types import (
    Audio,
    CallbackQuery,
    Chat,
    Document,
    Message,
    MessageEntity,
    PhotoSize,
    Update,
    Voice,
)
from PIL import Image, ImageChops, ImageDraw, ImageStat
from sqlalchemy import text

from bot.testing import BotTester, Reply, Shown, TestUser

T = TypeVar("T")


def private(user: TestUser) -> Chat:
    return Chat(id=user.id, type="private", first_name=user.name)


def message(tester: BotTester, user: TestUser, chat: Chat | None = None,
            **content: Any) -> Update:
    chat = chat or private(user)
    return Update(update_id=tester.next_update_id(), message=Message(
        message_id=tester.telegram.next_message_id(chat.id), date=dt.datetime.now(dt.UTC),
        chat=chat, from_user=user.telegram_user(), **content))


async def voice(tester: BotTester, user: TestUser, audio: bytes, duration: int) -> Reply:
    """`user` sends `audio` as a voice note of `duration` seconds."""
    file_id = tester.telegram.add_file(audio)
    note = Voice(file_id=file_id, file_unique_id=file_id, duration=duration,
                 mime_type="audio/ogg", file_size=len(audio))
    return await tester.exchange(user.id, message(tester, user, voice=note))


async def audio_file(tester: BotTester, user: TestUser, content: bytes, duration: int,
                     mime_type: str, file_name: str) -> Reply:
    file_id = tester.telegram.add_file(content)
    sent = Audio(file_id=file_id, file_unique_id=file_id, duration=duration,
                 mime_type=mime_type, file_name=file_name, file_size=len(content))
    return await tester.exchange(user.id, message(tester, user, audio=sent))


async def document(tester: BotTester, user: TestUser, content: bytes, file_name: str,
                   mime_type: str, caption: str = "", *, chat: Chat | None = None,
                   entities: list[MessageEntity] | None = None,
                   file_size: int | None = None) -> Reply:
    """`user` sends `content` as a document of this name and type (with `caption`; its
    announced `file_size`, by default its length)."""
    file_id = tester.telegram.add_file(content)
    sent = Document(file_id=file_id, file_unique_id=file_id, file_name=file_name,
                    mime_type=mime_type, file_size=file_size or len(content))
    update = message(tester, user, chat, document=sent, caption=caption or None,
                     caption_entities=entities)
    return await tester.exchange((chat or private(user)).id, update)


def sizes(tester: BotTester, jpegs: list[bytes]) -> list[PhotoSize]:
    """A photo's sizes, smallest first, each its own file (its real dimensions)."""
    out = []
    for content in jpegs:
        width, height = Image.open(io.BytesIO(content)).size
        file_id = tester.telegram.add_file(content)
        out.append(PhotoSize(file_id=file_id, file_unique_id=file_id, width=width,
                             height=height, file_size=len(content)))
    return out


async def photo(tester: BotTester, user: TestUser, jpegs: list[bytes], caption: str = "",
                chat: Chat | None = None) -> Reply:
    """`user` sends one photo in `jpegs`' sizes (with `caption`)."""
    update = message(tester, user, chat, photo=sizes(tester, jpegs), caption=caption or None)
    return await tester.exchange((chat or private(user)).id, update)


def album_parts(tester: BotTester, user: TestUser, photos: list[bytes], caption: str,
                group: str, chat: Chat | None = None,
                entities: list[MessageEntity] | None = None) -> list[Update]:
    """The updates of `user`'s album of `photos` (the caption on the first): one each."""
    chat = chat or private(user)
    return [
        message(tester, user, chat, photo=sizes(tester, [content]), media_group_id=group,
                caption=(caption if index == 0 else None) or None,
                caption_entities=entities if index == 0 else None)
        for index, content in enumerate(photos)
    ]


async def album(tester: BotTester, user: TestUser, photos: list[bytes], caption: str,
                group: str, chat: Chat | None = None,
                entities: list[MessageEntity] | None = None) -> Reply:
    """`user` sends `photos` as one album (the caption on the first), delivered together as
    Telegram delivers an album: one update each, in one delivery."""
    chat = chat or private(user)
    return await tester.exchange(
        chat.id, *album_parts(tester, user, photos, caption, group, chat, entities))


def shown(tester: BotTester, chat_id: int) -> list[Shown]:
    """Every message the bot sent in `chat_id`, in order (deleted ones too)."""
    return [tester.telegram.shown[key] for key in tester.telegram.created if key[0] == chat_id]


async def rows(tester: BotTester, sql: str) -> list[dict[str, Any]]:
    """The bot's database, read back."""
    async with tester.built.core.db.sessionmaker() as session:
        result = await session.execute(text(sql))
        return [dict(row) for row in result.mappings().all()]


def links(reply: Reply) -> list[str]:
    """The text links of the message the reply settled on (as the bot last sent or edited
    it): a citation's and the sources footer's."""
    final = reply.messages[-1].text if reply.messages else ""
    for call in reversed(reply.calls):
        if call.params.get("text") == final:
            return [e["url"] for e in call.params.get("entities") or []
                    if e.get("type") == "text_link"]
    return []


async def until(tester: BotTester, found: Callable[[], T], within: float = 30.0, *,
                settle: bool = True) -> T:
    """`found()` once it is truthy: for what the bot does on its own time (a background sync
    started by a command), the tester settled between looks (`settle=False`: while the bot
    is busy, e.g. mid-stream)."""
    async with asyncio.timeout(within):
        while not (value := found()):
            await asyncio.sleep(0.01)
            if settle:
                await tester.settle()
    return value


async def press_data(tester: BotTester, user: TestUser, on: Shown, data: str) -> Reply:
    """`user` presses a button with callback `data` under `on`, whether the message still
    shows it or not (a press delivered twice, or after the buttons changed)."""
    from bot.testing.telegram import message_of

    pressed = Message.model_validate(message_of(on, tester.telegram.me))
    query = CallbackQuery(id=f"press-{tester.next_update_id()}", from_user=user.telegram_user(),
                          chat_instance="tester", message=pressed, data=data)
    return await tester.exchange(on.chat_id, Update(update_id=tester.next_update_id(),
                                                    callback_query=query))


def screenshot(
    width: int, height: int, color: tuple[int, int, int] = (200, 40, 40)
) -> Image.Image:
    """A picture with structure (bands and a box), so a wrong or mangled image shows."""
    image = Image.new("RGB", (width, height), (245, 245, 245))
    draw = ImageDraw.Draw(image)
    for x in range(0, width, width // 8):
        draw.rectangle((x, 0, x + width // 16, height), fill=(30, 90, 200))
    draw.rectangle((width // 4, height // 3, width // 2, height // 2), fill=color)
    return image


def jpeg(image: Image.Image, quality: int = 90) -> bytes:
    out = io.BytesIO()
    image.save(out, "JPEG", quality=quality)
    return out.getvalue()


def difference(sent: Image.Image, received: Image.Image) -> float:
    """Mean absolute pixel difference (0-255) after scaling `sent` to `received`'s size."""
    scaled = sent.resize(received.size, Image.Resampling.BILINEAR)
    return sum(ImageStat.Stat(ImageChops.difference(scaled, received)).mean) / 3


def strings(node: Any) -> list[str]:
    """Every string inside a request body (a JSON value)."""
    if isinstance(node, str):
        return [node]
    if isinstance(node, dict):
        return [s for value in node.values() for s in strings(value)]
    if isinstance(node, list):
        return [s for value in node for s in strings(value)]
    return []
