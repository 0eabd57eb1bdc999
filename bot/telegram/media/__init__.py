"""Photos, albums and voice notes users send: what the handlers need."""

from __future__ import annotations

from dataclasses import dataclass, field

from bot.telegram.media.albums import AlbumJoiner
from bot.telegram.media.audio import Hearing, LongHearing
from bot.telegram.media.photos import PhotoPreparer
from bot.telegram.media.texts import MEDIA_TEXTS

assert MEDIA_TEXTS  # registers the texts with the Translator


@dataclass(frozen=True, slots=True)
class MediaSupport:
    """None parts are off: photos without VISION_MODEL, voice without SPEECH_RECOGNITION."""

    photos: PhotoPreparer | None = None
    voice: Hearing | None = None  # the voice feature's VoiceNotes
    albums: AlbumJoiner = field(default_factory=AlbumJoiner)
    max_image_mb: float = 10.0
    long_voice: LongHearing | None = None  # notes over 30 s, up to MAX_VOICE_SECONDS


__all__ = ["MediaSupport"]
