"""Downloading what users send: getFile then the file URL, against the fake Bot API on loopback."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer

from bot.telegram.downloads import (
    DownloadFailedError,
    DownloadTimeoutError,
    FileTooBigError,
    FileUnavailableError,
    TelegramFiles,
)
from tests.fakes.telegram.server import TelegramServer

TOKEN = "42:TEST"
PAYLOAD = os.urandom(300_000)


def leftovers(directory: Path) -> list[Path]:
    return list(directory.iterdir())


@pytest.fixture
async def tg() -> AsyncIterator[TelegramServer]:
    async with TelegramServer(TOKEN) as fake:
        yield fake


@pytest.fixture
async def bot(tg: TelegramServer) -> AsyncIterator[Bot]:
    session = AiohttpSession(api=TelegramAPIServer.from_base(tg.url))
    async with Bot(TOKEN, session=session) as b:
        yield b


async def test_a_file_is_streamed_to_disk_and_deleted_after(
    tg: TelegramServer, bot: Bot, tmp_path: Path
) -> None:
    file_id = tg.add_file(PAYLOAD, kind="voice")
    files = TelegramFiles(bot, tmp_dir=tmp_path)
    async with files.download(file_id, max_bytes=1_000_000) as got:
        assert got.read_bytes() == PAYLOAD
        assert got.size == len(PAYLOAD)
        assert got.file_path.startswith("voice/")
        assert got.file_path.endswith(".oga")
        assert got.path.parent == tmp_path
        seen = got.path
    assert not seen.exists()
    assert leftovers(tmp_path) == []
    assert tg.downloads == [got.file_path]


async def test_the_file_is_deleted_when_the_reader_fails(
    tg: TelegramServer, bot: Bot, tmp_path: Path
) -> None:
    file_id = tg.add_file(b"x" * 100)
    files = TelegramFiles(bot, tmp_dir=tmp_path)
    with pytest.raises(RuntimeError):
        async with files.download(file_id, max_bytes=1000):
            raise RuntimeError("reader broke")
    assert leftovers(tmp_path) == []


async def test_an_announced_size_over_the_limit_is_refused_before_any_call(
    tg: TelegramServer, bot: Bot, tmp_path: Path
) -> None:
    file_id = tg.add_file(PAYLOAD)
    with pytest.raises(FileTooBigError) as caught:
        async with TelegramFiles(bot, tmp_dir=tmp_path).download(
            file_id, max_bytes=1000, known_size=len(PAYLOAD)
        ):
            pass
    assert (caught.value.limit, caught.value.size) == (1000, len(PAYLOAD))
    assert tg.calls_for(method="getFile") == []
    assert tg.downloads == []


async def test_getfile_size_over_the_limit_is_refused_before_the_download(
    tg: TelegramServer, bot: Bot, tmp_path: Path
) -> None:
    file_id = tg.add_file(PAYLOAD)
    with pytest.raises(FileTooBigError):
        async with TelegramFiles(bot, tmp_dir=tmp_path).download(file_id, max_bytes=1000):
            pass
    assert tg.downloads == []
    assert leftovers(tmp_path) == []


async def test_a_file_bigger_than_announced_is_cut_off_while_streaming(
    tg: TelegramServer, bot: Bot, tmp_path: Path
) -> None:
    file_id = tg.add_file(PAYLOAD)
    tg.file_faults(file_id, omit_size=True, chunk_delay=0.001)  # chunked: no Content-Length
    with pytest.raises(FileTooBigError) as caught:
        async with TelegramFiles(bot, tmp_dir=tmp_path).download(file_id, max_bytes=100_000):
            pass
    assert caught.value.size is not None
    assert 100_000 < caught.value.size < len(PAYLOAD)
    assert leftovers(tmp_path) == []


async def test_telegrams_own_20_mb_limit_is_a_file_too_big(
    tg: TelegramServer, bot: Bot, tmp_path: Path
) -> None:
    file_id = tg.add_file(b"\0" * (20 * 1024 * 1024 + 1), kind="documents", ext="pdf")
    with pytest.raises(FileTooBigError):
        async with TelegramFiles(bot, tmp_dir=tmp_path).download(file_id, max_bytes=50 << 20):
            pass


async def test_an_unknown_file_id_is_unavailable(bot: Bot, tmp_path: Path) -> None:
    with pytest.raises(FileUnavailableError):
        async with TelegramFiles(bot, tmp_dir=tmp_path).download("nope", max_bytes=1000):
            pass
    assert leftovers(tmp_path) == []


@pytest.mark.slow
@pytest.mark.usefixtures("virtual_clock")
async def test_a_slow_download_times_out(tg: TelegramServer, bot: Bot, tmp_path: Path) -> None:
    file_id = tg.add_file(b"y" * 10)
    tg.file_faults(file_id, delay=5.0)
    files = TelegramFiles(bot, timeout=0.5, tmp_dir=tmp_path)
    with pytest.raises(DownloadTimeoutError):
        async with files.download(file_id, max_bytes=1000):
            pass
    assert leftovers(tmp_path) == []


@pytest.mark.slow
async def test_a_server_error_is_retried_once_then_reported(
    tg: TelegramServer, bot: Bot, tmp_path: Path
) -> None:
    file_id = tg.add_file(b"z" * 10)
    tg.fail_next("getFile", 502, times=1)
    async with TelegramFiles(bot, tmp_dir=tmp_path).download(file_id, max_bytes=1000) as got:
        assert got.read_bytes() == b"z" * 10
    tg.fail_next("getFile", 502, times=2)
    with pytest.raises(DownloadFailedError):
        async with TelegramFiles(bot, tmp_dir=tmp_path).download(file_id, max_bytes=1000):
            pass
    assert len(tg.calls_for(method="getFile")) == 4


async def test_the_fake_serves_only_registered_paths_with_the_right_token(
    tg: TelegramServer, bot: Bot
) -> None:
    file_id = tg.add_file(b"abc", kind="documents", ext="pdf", mime_type="application/pdf")
    file = await bot.get_file(file_id)
    assert file.file_size == 3
    assert file.file_path is not None
    session = await bot.session.create_session()  # type: ignore[attr-defined]
    async with session.get(f"{tg.url}/file/bot{TOKEN}/{file.file_path}") as ok:
        assert (ok.status, await ok.read(), ok.content_type) == (200, b"abc", "application/pdf")
    async with session.get(f"{tg.url}/file/bot{TOKEN}/documents/none.pdf") as missing:
        assert missing.status == 404
    async with session.get(f"{tg.url}/file/bot1:WRONG/{file.file_path}") as wrong:
        assert wrong.status == 401


async def test_media_messages_parse_as_aiogram_messages(tg: TelegramServer, bot: Bot) -> None:
    from tests.fakes.telegram.images import tiny_jpeg

    tg.send_user_photo_message(1, [tiny_jpeg(90, 60), tiny_jpeg(900, 600)], "what?",
                               media_group_id="g1")
    tg.send_user_voice(1, b"OggS-voice", duration=4)
    tg.send_user_document(1, b"%PDF-1.7", file_name="a.pdf", mime_type="application/pdf")
    photo, voice, document = [u.message for u in await bot.get_updates(timeout=0)]
    assert photo is not None
    assert voice is not None
    assert document is not None
    assert photo.photo is not None
    assert [(s.width, s.height) for s in photo.photo] == [(90, 60), (900, 600)]
    assert (photo.caption, photo.media_group_id, photo.text) == ("what?", "g1", None)
    assert voice.voice is not None
    assert voice.voice.duration == 4
    assert document.document is not None
    assert document.document.file_name == "a.pdf"
    async with TelegramFiles(bot).download(document.document.file_id, max_bytes=100) as got:
        assert got.read_bytes() == b"%PDF-1.7"
