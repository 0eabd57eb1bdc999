"""Photos made ready for the vision model, albums, and which earlier images a prompt shows."""

from __future__ import annotations

import io
import struct
import zlib
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.types import PhotoSize
from PIL import Image

from bot.features.vision.images import pick_resend
from bot.features.vision.store import StoredImage
from bot.telegram.downloads import FileTooBigError, TelegramFiles
from bot.telegram.media.albums import AlbumJoiner
from bot.telegram.media.photos import (
    ImageRef,
    ImageUnreadableError,
    PhotoPreparer,
    pick_photo,
    reencode,
)
from tests.fakes.telegram.server import TelegramServer


def encoded(image: Image.Image, fmt: str = "JPEG") -> bytes:
    out = io.BytesIO()
    image.save(out, fmt)
    return out.getvalue()


def png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def leftovers(directory: Path) -> list[Path]:
    return list(directory.iterdir())


@pytest.mark.slow
def test_a_large_photo_becomes_a_jpeg_of_at_most_1600_px_on_its_long_side() -> None:
    photo = Image.new("RGB", (4000, 3000), (10, 120, 200))
    # JPEG decodes at 1/4 scale: still more than the 896 px the model looks at.
    jpeg, width, height = reencode(encoded(photo))
    assert (width, height) == (1000, 750)
    with Image.open(io.BytesIO(jpeg)) as back:
        assert (back.format, back.size) == ("JPEG", (1000, 750))
        assert back.getpixel((500, 375)) == pytest.approx((10, 120, 200), abs=4)
    png = encoded(Image.new("RGB", (4000, 3000), (10, 120, 200)), "PNG")
    assert reencode(png)[1:] == (1600, 1200), "other formats are resized to 1,600 px"


def test_a_small_image_keeps_its_size_and_transparency_turns_white() -> None:
    shot = Image.new("RGBA", (300, 200), (0, 0, 0, 0))
    shot.paste((200, 0, 0, 255), (0, 0, 100, 200))
    jpeg, width, height = reencode(encoded(shot, "PNG"))
    assert (width, height) == (300, 200)
    with Image.open(io.BytesIO(jpeg)) as back:
        assert back.getpixel((250, 100)) == pytest.approx((255, 255, 255), abs=4)
        assert back.getpixel((50, 100)) == pytest.approx((200, 0, 0), abs=6)


def test_corrupt_truncated_and_bomb_images_are_unreadable() -> None:
    good = encoded(Image.new("RGB", (500, 500), (1, 2, 3)))
    with pytest.raises(ImageUnreadableError):
        reencode(b"\xff\xd8 this is not a jpeg")
    with pytest.raises(ImageUnreadableError):
        reencode(good[: len(good) // 3])
    # A PNG claiming 9000 x 9000 pixels (a few hundred bytes): refused on its header.
    bomb = b"\x89PNG\r\n\x1a\n" + png_chunk(
        b"IHDR", struct.pack(">IIBBBBB", 9000, 9000, 8, 2, 0, 0, 0)
    )
    bomb += png_chunk(b"IDAT", zlib.compress(b"")) + png_chunk(b"IEND", b"")
    with pytest.raises(ImageUnreadableError, match="pixels"):
        reencode(bomb)


def test_the_largest_photo_size_that_fits_is_picked() -> None:
    sizes = [
        PhotoSize(file_id="s", file_unique_id="us", width=90, height=60, file_size=2_000),
        PhotoSize(file_id="m", file_unique_id="um", width=800, height=600, file_size=90_000),
        PhotoSize(file_id="l", file_unique_id="ul", width=4000, height=3000, file_size=9_000_000),
    ]
    picked = pick_photo(sizes, 10_000_000)
    assert picked is not None
    assert picked.file_id == "l"
    smaller = pick_photo(sizes, 1_000_000)
    assert smaller is not None
    assert smaller.file_id == "m"
    assert pick_photo(sizes, 1_000) is None


async def test_an_album_joins_its_parts_until_it_closes_and_keeps_every_caption() -> None:
    now = [100.0]
    joiner = AlbumJoiner(window=0.8, clock=lambda: now[0])
    first = joiner.offer(1, "g", 10, ImageRef("a", "ua", 1), "which one?")
    assert first is not None
    now[0] += 0.3
    assert joiner.offer(1, "g", 11, ImageRef("b", "ub", 1), "") is None
    assert joiner.offer(1, "g", 12, None, "") is None  # over the limit: counted, not kept
    assert joiner.offer(2, "g", 13, ImageRef("c", "uc", 1), "") is not None  # another chat
    assert [i.file_id for i in first.images] == ["a", "b"]
    assert (first.caption, first.too_big, first.first_message_id) == ("which one?", 1, 10)
    now[0] += 5
    # Not closed yet (its job waits behind another answer, say): one media_group_id is one
    # album, however late the bot gets to a part.
    assert joiner.offer(1, "g", 14, ImageRef("d", "ud", 1), "") is None
    now[0] += 1
    assert (await joiner.complete(1, "g", first)).closed  # the window has passed: closed
    assert [i.file_id for i in first.images] == ["a", "b", "d"]
    later = joiner.offer(1, "g", 16, ImageRef("f", "uf", 1), "")
    assert later is not None, "a part after the album closed starts a new one"
    single = joiner.offer(1, None, 15, ImageRef("e", "ue", 1), "x")
    assert single is not None
    assert single.closed


def test_a_prompt_shows_again_the_latest_images_of_the_latest_questions() -> None:
    def img(name: str) -> StoredImage:
        return StoredImage(name)

    earlier = {1: [img("a")], 3: [img("b"), img("c")], 5: [img("d")]}
    assert [i.file_id for i in pick_resend([1, 3, 5], earlier, 3)] == ["b", "c", "d"]
    assert [i.file_id for i in pick_resend([3, 5], earlier, 10)] == ["b", "c", "d"]
    assert pick_resend([7], earlier, 3) == []
    assert pick_resend([1, 3, 5], earlier, 0) == []


@pytest.fixture
async def fake() -> AsyncIterator[tuple[TelegramServer, Bot]]:
    async with TelegramServer("42:TEST") as tg:
        session = AiohttpSession(api=TelegramAPIServer.from_base(tg.url))
        async with Bot("42:TEST", session=session) as bot:
            yield tg, bot


async def test_prepared_images_are_cached_for_follow_ups_and_limits_hold(
    fake: tuple[TelegramServer, Bot], tmp_path: Path
) -> None:
    tg, bot = fake
    photo = encoded(Image.new("RGB", (2000, 1000), (0, 200, 0)))
    file_id = tg.add_file(photo)
    preparer = PhotoPreparer(TelegramFiles(bot, tmp_dir=tmp_path), max_bytes=len(photo))
    ready = await preparer.prepare(ImageRef(file_id, "u1", len(photo)))
    assert (ready.width, ready.height) == (1000, 500)
    again = await preparer.fetch(StoredImage(file_id, "u1"))
    assert again == ready.jpeg
    assert len(tg.downloads) == 1, "the follow-up used the cache"
    fresh = PhotoPreparer(TelegramFiles(bot, tmp_dir=tmp_path), max_bytes=len(photo))
    assert (await fresh.fetch(StoredImage(file_id, "u1")))[:2] == b"\xff\xd8"
    assert len(tg.downloads) == 2, "without the cache it is downloaded again by file id"
    small = PhotoPreparer(TelegramFiles(bot, tmp_dir=tmp_path), max_bytes=1000)
    with pytest.raises(FileTooBigError):
        await small.prepare(ImageRef(file_id, "u1", None))
    assert leftovers(tmp_path) == []
