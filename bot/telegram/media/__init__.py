"""Photos and albums users send: what the handlers need (voice notes are the voice
feature's: bot/features/voice/notes.py, over the protocols of audio.py)."""

from __future__ import annotations

from dataclasses import dataclass, field

from bot.telegram.media.albums import AlbumJoiner
from bot.telegram.media.photos import PhotoPreparer
from bot.telegram.media.texts import MEDIA_TEXTS

assert MEDIA_TEXTS  # registers the texts with the Translator


@dataclass(frozen=True, slots=True)
class MediaSupport:
    """`photos` None: off (no VISION_MODEL)."""

    photos: PhotoPreparer | None = None
    albums: AlbumJoiner = field(default_factory=AlbumJoiner)
    max_image_mb: float = 10.0


__all__ = ["MediaSupport"]
