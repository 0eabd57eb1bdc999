"""Voice notes and OGG/Opus audio, recognised by SpeechKit as they are.

The synchronous API takes up to 30 s and 1 MB (bot/foundation_models/speech.py): longer notes
are refused by their announced duration and size, before any download.
"""

from __future__ import annotations

from dataclasses import dataclass

from aiogram.types import Message

from bot.foundation_models.speech import (
    MAX_BYTES,
    MAX_SECONDS,
    AudioTooLongError,
    SpeechRecognizer,
    stt_language,
)
from bot.telegram.downloads import TelegramFiles

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


class VoiceNotes:
    def __init__(self, files: TelegramFiles, recognizer: SpeechRecognizer) -> None:
        self.files = files
        self.recognizer = recognizer

    async def transcribe(self, ref: AudioRef, language_code: str | None) -> str:
        """The recognised text ("" when no words were heard). Raises AudioTooLongError,
        the download errors, and SpeechError / the client's errors."""
        if ref.too_long:
            raise AudioTooLongError(f"{ref.duration} s, {ref.file_size} bytes")
        async with self.files.download(
            ref.file_id, max_bytes=MAX_BYTES, known_size=ref.file_size
        ) as got:
            audio = got.read_bytes()  # at most 1 MB
        return await self.recognizer.recognize(
            audio, language=stt_language(language_code), seconds=ref.duration
        )
