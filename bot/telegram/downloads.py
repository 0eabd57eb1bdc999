"""Files users send, fetched from Telegram: bounded in size and time, on disk, deleted once read.

https://core.telegram.org/bots/api#getfile: ``getFile(file_id)`` gives a ``file_path``; the file
is then fetched with a plain GET of ``{api}/file/bot<token>/<file_path>`` (the link is valid for
at least an hour). Bots can download files of up to 20 MB: a bigger one makes getFile answer
"Bad Request: file is too big". Sizes are checked three times: the size the message announced,
the one getFile answers, then the bytes as they stream in (a size can be missing or wrong), so a
file over the limit is refused before, or while, it is read, and never kept whole in memory.

Usage::

    files = TelegramFiles(bot, timeout=30.0)
    async with files.download(file_id, max_bytes=10 * 2**20, known_size=size) as got:
        data = got.read_bytes()        # or open got.path; the file is deleted on exit
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
)
from aiohttp import ClientError, ClientTimeout

log = logging.getLogger(__name__)

TELEGRAM_DOWNLOAD_LIMIT = 20 * 1024 * 1024  # "Bots can download files of up to 20MB"
_CHUNK = 64 * 1024
_ATTEMPTS = 2  # a network blip or a 5xx is retried once, within the same time budget


class DownloadError(Exception):
    """A file could not be fetched from Telegram (the subclasses say why)."""


class FileTooBigError(DownloadError):
    """The file is over ``limit`` bytes (``size`` when known: announced or read so far)."""

    def __init__(self, limit: int, size: int | None = None) -> None:
        self.limit, self.size = limit, size
        shown = "unknown size" if size is None else f"{size} bytes"
        super().__init__(f"file too big: {shown}, limit {limit} bytes")


class FileUnavailableError(DownloadError):
    """Telegram no longer has the file, or refuses this file_id (expired, wrong bot)."""


class DownloadFailedError(DownloadError):
    """Telegram or the network failed (after a retry): the user may simply send it again."""


class DownloadTimeoutError(DownloadFailedError):
    """The whole download (getFile and the bytes) took longer than its time budget."""


@dataclass(frozen=True, slots=True)
class DownloadedFile:
    """A file on disk for the duration of ``TelegramFiles.download``'s block."""

    path: Path
    size: int
    file_path: str  # Telegram's, e.g. "photos/file_12.jpg" (the suffix hints at the type)

    def read_bytes(self) -> bytes:
        return self.path.read_bytes()


class TelegramFiles:
    """Downloads files users sent to this bot."""

    def __init__(
        self,
        bot: Bot,
        *,
        timeout: float = 30.0,
        tmp_dir: Path | None = None,
        chunk_size: int = _CHUNK,
    ) -> None:
        self.bot = bot
        self.timeout = timeout
        self.tmp_dir = tmp_dir
        self.chunk_size = chunk_size

    @contextlib.asynccontextmanager
    async def download(
        self, file_id: str, *, max_bytes: int, known_size: int | None = None
    ) -> AsyncIterator[DownloadedFile]:
        """The file on disk while the block runs; deleted afterwards, whatever happens.

        Raises FileTooBigError (before any byte is read when a size is known), or
        FileUnavailableError, DownloadFailedError, DownloadTimeoutError.
        """
        limit = min(max_bytes, TELEGRAM_DOWNLOAD_LIMIT)
        if known_size is not None and known_size > limit:
            raise FileTooBigError(limit, known_size)
        fd, name = tempfile.mkstemp(prefix="fmbot-", suffix=".part", dir=self.tmp_dir)
        path = Path(name)
        try:
            with os.fdopen(fd, "wb") as sink:
                try:
                    async with asyncio.timeout(self.timeout):
                        file_path, size = await self._fetch(file_id, limit, sink)
                except TimeoutError:
                    raise DownloadTimeoutError(
                        f"download of {file_id} took longer than {self.timeout:.0f} s"
                    ) from None
            yield DownloadedFile(path, size, file_path)
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(name)  # microseconds: not worth a thread

    async def _fetch(self, file_id: str, limit: int, sink: BinaryIO) -> tuple[str, int]:
        for attempt in range(1, _ATTEMPTS + 1):
            try:
                file_path = await self._file_path(file_id, limit)
                return file_path, await self._stream(file_path, limit, sink)
            except DownloadFailedError as exc:
                if attempt == _ATTEMPTS:
                    raise
                log.warning("download of %s failed (%s); retrying once", file_id, exc)
                sink.seek(0)
                sink.truncate()
                await asyncio.sleep(0.5)
        raise AssertionError("unreachable")

    async def _file_path(self, file_id: str, limit: int) -> str:
        try:
            file = await self.bot.get_file(file_id)
        except TelegramRetryAfter as exc:
            await asyncio.sleep(exc.retry_after)  # bounded by the caller's timeout
            raise DownloadFailedError(f"getFile: {exc.message}") from None
        except TelegramBadRequest as exc:
            if "too big" in exc.message.lower():
                raise FileTooBigError(TELEGRAM_DOWNLOAD_LIMIT) from None
            raise FileUnavailableError(f"getFile: {exc.message}") from None
        except (TelegramNetworkError, TelegramServerError) as exc:
            raise DownloadFailedError(f"getFile: {exc.message}") from None
        if file.file_size is not None and file.file_size > limit:
            raise FileTooBigError(limit, file.file_size)
        if not file.file_path:
            raise FileUnavailableError(f"getFile gave no file_path for {file_id}")
        return file.file_path

    async def _stream(self, file_path: str, limit: int, sink: BinaryIO) -> int:
        session = self.bot.session
        url = session.api.file_url(self.bot.token, file_path)
        if not isinstance(session, AiohttpSession):  # another aiogram session: its own way
            return await self._stream_generic(url, limit, sink)
        client = await session.create_session()
        written = 0
        try:
            async with client.get(url, timeout=ClientTimeout(total=None)) as response:
                if response.status == 404:
                    raise FileUnavailableError(f"{file_path}: 404 Not Found")
                if response.status != 200:
                    raise DownloadFailedError(f"{file_path}: HTTP {response.status}")
                if response.content_length is not None and response.content_length > limit:
                    raise FileTooBigError(limit, response.content_length)
                async for chunk in response.content.iter_chunked(self.chunk_size):
                    written += len(chunk)
                    if written > limit:
                        raise FileTooBigError(limit, written)
                    sink.write(chunk)
        except ClientError as exc:
            raise DownloadFailedError(f"{file_path}: {type(exc).__name__}: {exc}") from None
        return written

    async def _stream_generic(self, url: str, limit: int, sink: BinaryIO) -> int:
        written = 0
        try:
            stream = self.bot.session.stream_content(
                url, timeout=int(self.timeout) + 1, chunk_size=self.chunk_size
            )
            async for chunk in stream:
                written += len(chunk)
                if written > limit:
                    raise FileTooBigError(limit, written)
                sink.write(chunk)
        except ClientError as exc:
            raise DownloadFailedError(f"{type(exc).__name__}: {exc}") from None
        return written
