"""Voice notes and OGG/Opus audio, recognised by SpeechKit as they are (the Telegram front's
`Hearing`, bot/telegram/media/audio.py).

The synchronous API takes up to 30 s and 1 MB (bot/foundation_models/speech.py): longer notes
are refused by their announced duration and size, before any download.
"""

from __future__ import annotations

from bot.plugin.models import MAX_BYTES, AudioTooLongError, SpeechRecognizer, stt_language
from bot.plugin.telegram import AudioRef, TelegramFiles


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
