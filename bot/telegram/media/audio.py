"""A voice note or OGG/Opus audio in a message, and what hears it: the Telegram front's side
of speech recognition. Who hears them (SpeechKit, short notes at once and long ones as
durable jobs) is the voice feature's (bot/features/voice: hearing.py, longvoice.py).

The synchronous API takes up to 30 s and 1 MB (bot/foundation_models/speech.py): longer notes
are refused by their announced duration and size, before any download.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from aiogram.types import Message

from bot.foundation_models.speech import MAX_BYTES, MAX_SECONDS

if TYPE_CHECKING:
    from bot.telegram.outbox import Outbox
    from bot.telegram.texts import Translator

# Telegram voice notes are OGG/Opus; audio files only when they are too (SpeechKit v1 takes
# oggopus or raw PCM, not MP3 or M4A).
OGG_TYPES = frozenset({"audio/ogg", "audio/opus", "audio/x-opus+ogg"})


@dataclass(frozen=True, slots=True)
class AudioRef:
    file_id: str
    duration: int
    file_size: int | None

    @property
    def too_long(self) -> bool:
        return self.duration > MAX_SECONDS or (self.file_size or 0) > MAX_BYTES


def audio_of(message: Message) -> AudioRef | None:
    """The voice note or OGG/Opus audio of ``message``; None for another audio format."""
    if message.voice is not None:
        voice = message.voice
        return AudioRef(voice.file_id, voice.duration, voice.file_size)
    audio = message.audio
    if audio is None or (audio.mime_type or "").lower() not in OGG_TYPES:
        return None
    return AudioRef(audio.file_id, audio.duration, audio.file_size)


class Hearing(Protocol):
    """Notes heard as they are (up to 30 s and 1 MB)."""

    async def transcribe(self, ref: AudioRef, language_code: str | None) -> str:
        """The recognised text ("" when no words were heard). Raises AudioTooLongError,
        the download errors, and SpeechError / the client's errors."""
        ...


class LongHearing(Protocol):
    """Notes over 30 s, up to `max_seconds`, heard asynchronously (a durable job)."""

    @property
    def max_seconds(self) -> int: ...

    async def transcribe(
        self, ref: AudioRef, *, chat_id: int, message_id: int, user_id: int,
        language_code: str | None, thread_id: int | None, outbox: Outbox, t: Translator,
    ) -> str:
        """The recognised text of a long note."""
        ...
