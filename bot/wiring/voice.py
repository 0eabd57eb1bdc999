"""Voice wired: replies spoken by SpeechKit TTS (the policy from VOICE_REPLIES, the
Answerer's hook that speaks a delivered answer) and long voice notes heard through SpeechKit's
asynchronous recognition, both with the models' credentials."""

from __future__ import annotations

from contextlib import AsyncExitStack
from typing import TYPE_CHECKING

from bot.config import Settings
from bot.wiring.core import Core

if TYPE_CHECKING:
    from bot.telegram.app import TelegramApp
    from bot.telegram.voicereplies import VoiceReplies


def build_voice(
    settings: Settings, c: Core, telegram: TelegramApp, stack: AsyncExitStack
) -> VoiceReplies | None:
    """None when VOICE_REPLIES is off (or unset with speech recognition off)."""
    mode = settings.voice_replies_mode
    if mode == "off" or c.auth is None:
        return None
    from bot.foundation_models.speech_synthesis import SpeechSynthesizer
    from bot.telegram.voicereplies import VoiceConfig, VoiceReplies
    from bot.voice.policy import VoiceMode, VoicePolicy

    synthesizer = SpeechSynthesizer(
        base_url=settings.tts_url, auth=c.auth, folder_id=settings.yandex_folder_id, http=c.http
    )
    stack.push_async_callback(synthesizer.aclose)
    config = VoiceConfig(
        policy=VoicePolicy(VoiceMode(mode), groups=settings.voice_replies_groups == "on"),
        voice=settings.tts_voice,
        voices={"ru": settings.tts_voice_ru, "en": settings.tts_voice_en},
        speed=settings.tts_speed,
        chars_per_day=settings.tts_chars_per_user_day,
    )
    voice = VoiceReplies(
        synthesizer=synthesizer, sessionmaker=c.db.sessionmaker, outbox=telegram.outbox,
        config=config,
    )  # fmt: skip
    telegram.answers.voice = voice.after_delivery
    telegram.deps.voice = voice
    return voice


def build_long_voice(
    settings: Settings, c: Core, telegram: TelegramApp, stack: AsyncExitStack
) -> None:
    """Voice notes over 30 s through SpeechKit's asynchronous API (with recognition on)."""
    media = telegram.deps.media
    if media is None or media.voice is None or c.auth is None:
        return
    from bot.foundation_models.speech_async import AsyncSpeechRecognizer
    from bot.telegram.media.longvoice import LongNotes

    recognizer = AsyncSpeechRecognizer(
        base_url=settings.stt_url, operation_url=settings.yandex_operation_url, auth=c.auth,
        folder_id=settings.yandex_folder_id, http=c.http,
    )  # fmt: skip
    stack.push_async_callback(recognizer.aclose)
    media.long_voice = LongNotes(
        files=media.voice.files, recognizer=recognizer, sessionmaker=c.db.sessionmaker,
        max_seconds=settings.max_voice_seconds, poll_interval=settings.stt_poll_interval,
    )  # fmt: skip
