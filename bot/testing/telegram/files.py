"""Files on the fake Bot API: ``getFile``, the ``/file/bot<token>/<file_path>`` downloads, the
bot's other files (sendDocument, sendAudio, sendVideo, sendAnimation, sendSticker,
sendVideoNote: an upload of up to 50 MB or a known file id, with a caption), and users sending
photos, albums, voice notes, audio and documents that refer to them.

As real Telegram does (https://core.telegram.org/bots/api#getfile): ``getFile`` answers a
``File`` with ``file_id``, ``file_unique_id``, ``file_size`` and a ``file_path`` such as
``photos/file_3.jpg`` or ``voice/file_4.oga``; files over 20 MB answer "Bad Request: file is too
big"; an unknown id answers "Bad Request: invalid file_id". The download is a GET of
``/file/bot<token>/<file_path>`` (404 "Not Found" for an unknown path, 401 for a wrong token).

Test API::

    file_id = tg.add_file(jpeg_bytes, kind="photos")           # -> "AgAD..." registered
    tg.send_user_photo_message(1, [small, large], caption="what is this?")
    tg.send_user_photo_message(1, [a], media_group_id="g1"); ... same group id for an album
    tg.send_user_voice(1, ogg_bytes, duration=5)
    tg.send_user_document(1, data, file_name="shot.png", mime_type="image/png")
    tg.file_faults(file_id, delay=3.0, announced_size=5, body_size=None)  # slow, lying sizes
    tg.downloads  # list of file paths served, in order
"""

from __future__ import annotations

import asyncio
from typing import Any

from bot.testing.telegram.core import BotApiCore
from bot.testing.telegram.state import Call, FakeFile
from bot.testing.telegram.wire import Params, TelegramError, bad_request, image_size

TELEGRAM_DOWNLOAD_LIMIT = 20 * 1024 * 1024
MAX_UPLOAD_BYTES = 50 * 1024 * 1024  # "other files" a bot sends: up to 50 MB
_EXTENSIONS = {"photos": "jpg", "voice": "oga", "music": "mp3", "documents": "bin"}
_MIME = {"photos": "image/jpeg", "voice": "audio/ogg", "music": "audio/mpeg"}




class FileSide(BotApiCore):
    """Files and the user messages that carry them (mixed into FakeBotApi)."""

    def _meta(self) -> dict[str, FakeFile]:
        return self.file_meta

    def add_file(
        self,
        data: bytes,
        *,
        kind: str = "photos",
        ext: str | None = None,
        mime_type: str | None = None,
        file_id: str | None = None,
    ) -> str:
        """Register ``data`` as a file Telegram holds; -> its file_id."""
        number = len(self.file_meta) + 1
        file_id = file_id or f"AgAD{kind[:3]}{number:06d}"
        extension = ext or _EXTENSIONS.get(kind, "bin")
        self.files[file_id] = data
        self._meta()[file_id] = FakeFile(
            file_id,
            f"{kind}/file_{number}.{extension}",
            mime_type or _MIME.get(kind, "application/octet-stream"),
        )
        return file_id

    def file_faults(
        self,
        file_id: str,
        *,
        delay: float = 0.0,
        chunk_delay: float = 0.0,
        announced_size: int | None = None,
        omit_size: bool = False,
    ) -> None:
        """Make a registered file slow to serve, or getFile lie about (or omit) its size."""
        meta = self._meta()[file_id]
        meta.delay, meta.chunk_delay = delay, chunk_delay
        meta.announced_size, meta.omit_size = announced_size, omit_size

    def _file_meta_of(self, file_id: str) -> FakeFile:
        meta = self._meta().get(file_id)
        if meta is None:  # uploaded with sendPhoto, or an older test's send_user_photo
            meta = FakeFile(file_id, f"photos/{file_id}.jpg", "image/jpeg")
            self._meta()[file_id] = meta
        return meta

    # --- Bot API ---------------------------------------------------------------------------

    async def m_getFile(self, p: Params, call: Call) -> Any:
        file_id = p.get_str("file_id") or ""
        if file_id not in self.files:
            raise bad_request("invalid file_id")
        size = len(self.files[file_id])
        if size > TELEGRAM_DOWNLOAD_LIMIT:
            raise bad_request("file is too big")
        meta = self._file_meta_of(file_id)
        out: dict[str, Any] = {
            "file_id": file_id,
            "file_unique_id": f"u{file_id}",
            "file_path": meta.file_path,
        }
        if not meta.omit_size:
            out["file_size"] = size if meta.announced_size is None else meta.announced_size
        return out

    async def download(self, path: str) -> tuple[FakeFile, bytes] | None:
        """The file at ``path`` (a getFile ``file_path``) as its download serves it, after its
        ``delay``; None: no such file (404). Recorded in ``downloads``."""
        for file_id in list(self.files):
            meta = self._file_meta_of(file_id)
            if meta.file_path == path:
                break
        else:
            return None
        self.downloads.append(path)
        if meta.delay:
            await asyncio.sleep(meta.delay)
        return meta, self.files[file_id]

    async def _send_file(self, p: Params, call: Call, kind: str) -> Any:
        """sendDocument, sendAudio, sendVideo, sendAnimation, sendSticker, sendVideoNote: an
        upload (at most 50 MB, kept for getFile) or a known file id, with a caption."""
        chat = self.target(p, call)
        upload = p.file(kind)
        name = mime = None
        if upload is not None:
            data, name, mime = upload.data, upload.filename, upload.content_type
            if len(data) > MAX_UPLOAD_BYTES:
                raise TelegramError(413, "Request Entity Too Large")
            folder = "documents" if kind == "document" else f"{kind}s"
            file_id = self.add_file(data, kind=folder, ext=(name or "f.bin").rsplit(".", 1)[-1],
                                    mime_type=mime)
        else:
            file_id = p.get_str(kind) or ""
            if file_id not in self.files:
                raise bad_request("wrong file identifier/HTTP URL specified")
            data = self.files[file_id]
        caption, entities = self.text_of(p, "caption", limit=1024, empty_ok=True)
        markup, reply_to = self.markup_of(p), self.reply_of(p, chat)
        self.spend(call, chat)
        message = self._bot_message(
            chat, p, caption=caption or None, entities=entities, reply_markup=markup,
            reply_to=reply_to, kind=kind, media=data, media_file_id=file_id, media_name=name,
            media_mime=mime, media_duration=p.get_int("duration") or 0,
        )
        chat.record_event(kind, message.message_id, caption, final=True)
        return self.message_json(chat, message)

    async def m_sendDocument(self, p: Params, call: Call) -> Any:
        return await self._send_file(p, call, "document")

    async def m_sendAudio(self, p: Params, call: Call) -> Any:
        return await self._send_file(p, call, "audio")

    async def m_sendVideo(self, p: Params, call: Call) -> Any:
        return await self._send_file(p, call, "video")

    async def m_sendAnimation(self, p: Params, call: Call) -> Any:
        return await self._send_file(p, call, "animation")

    async def m_sendSticker(self, p: Params, call: Call) -> Any:
        return await self._send_file(p, call, "sticker")

    async def m_sendVideoNote(self, p: Params, call: Call) -> Any:
        return await self._send_file(p, call, "video_note")

    # --- test API: users sending files -----------------------------------------------------

    def photo_sizes(self, sizes: list[bytes]) -> list[dict[str, Any]]:
        """PhotoSize objects for ``sizes`` (smallest first, as Telegram lists them)."""
        out = []
        for data in sizes:
            file_id = self.add_file(data, kind="photos")
            width, height = image_size(data) or (1, 1)
            out.append(
                {
                    "file_id": file_id,
                    "file_unique_id": f"u{file_id}",
                    "width": width,
                    "height": height,
                    "file_size": len(data),
                }
            )
        return out

    def send_user_photo_message(
        self,
        chat_id: int,
        sizes: list[bytes],
        caption: str = "",
        *,
        media_group_id: str | None = None,
        **kwargs: Any,
    ) -> int:
        """A user sends a photo (every size given is one PhotoSize); -> update_id."""
        extra: dict[str, Any] = {"photo": self.photo_sizes(sizes)}
        return self._send_media(chat_id, extra, caption, media_group_id, **kwargs)

    def send_user_voice(
        self, chat_id: int, data: bytes, *, duration: int, caption: str = "", **kwargs: Any
    ) -> int:
        file_id = self.add_file(data, kind="voice")
        extra = {
            "voice": {
                "file_id": file_id,
                "file_unique_id": f"u{file_id}",
                "duration": duration,
                "mime_type": "audio/ogg",
                "file_size": len(data),
            }
        }
        return self._send_media(chat_id, extra, caption, None, **kwargs)

    def send_user_audio(
        self,
        chat_id: int,
        data: bytes,
        *,
        duration: int,
        mime_type: str = "audio/ogg",
        file_name: str = "audio.ogg",
        **kwargs: Any,
    ) -> int:
        file_id = self.add_file(data, kind="music", ext=file_name.rsplit(".", 1)[-1])
        extra = {
            "audio": {
                "file_id": file_id,
                "file_unique_id": f"u{file_id}",
                "duration": duration,
                "mime_type": mime_type,
                "file_name": file_name,
                "file_size": len(data),
            }
        }
        return self._send_media(chat_id, extra, kwargs.pop("caption", ""), None, **kwargs)

    def send_user_document(
        self,
        chat_id: int,
        data: bytes,
        *,
        file_name: str,
        mime_type: str,
        caption: str = "",
        media_group_id: str | None = None,
        file_size: int | None = None,
        **kwargs: Any,
    ) -> int:
        """A file sent "as a document"; ``file_size`` lets the message announce another size."""
        file_id = self.add_file(
            data, kind="documents", ext=file_name.rsplit(".", 1)[-1], mime_type=mime_type
        )
        extra = {
            "document": {
                "file_id": file_id,
                "file_unique_id": f"u{file_id}",
                "file_name": file_name,
                "mime_type": mime_type,
                "file_size": len(data) if file_size is None else file_size,
            }
        }
        return self._send_media(chat_id, extra, caption, media_group_id, **kwargs)

    def _send_media(
        self,
        chat_id: int,
        fields: dict[str, Any],
        caption: str,
        media_group_id: str | None,
        **kwargs: Any,
    ) -> int:
        if caption:
            fields["caption"] = caption
        if media_group_id is not None:
            fields["media_group_id"] = media_group_id
        kwargs["extra"] = {**fields, **(kwargs.get("extra") or {})}
        return self.send_user_message(chat_id, "", entities=[], **kwargs)

    def send_user_message(
        self,
        chat_id: int,
        text: str,
        *,
        user: dict[str, Any] | None = None,
        chat_type: str | None = None,
        title: str | None = None,
        reply_to: int | None = None,
        thread_id: int | None = None,
        entities: list[dict[str, Any]] | None = None,
        language_code: str = "en",
        extra: dict[str, Any] | None = None,
    ) -> int:
        raise NotImplementedError  # FakeBotApi's
