"""Voice replies wired: answers spoken by SpeechKit TTS with the models' credentials (the
policy from VOICE_REPLIES; the Answerer speaks a delivered answer through it). Long voice
notes are heard through SpeechKit's asynchronous recognition (parts.py, build_media)."""

from __future__ import annotations

from contextlib import AsyncExitStack
from typing import TYPE_CHECKING

from bot.config import Settings
from bot.wiring.core import Core

if TYPE_CHECKING:
    from bot.coordination import Coordinator
    from bot.features.voice.replies import VoiceReplies
    from bot.telegram.outbox import Outbox


def build_voice(
    settings: Settings, c: Core, outbox: Outbox, stack: AsyncExitStack,
    coordinator: Coordinator | None = None,
) -> VoiceReplies | None:
    """None when VOICE_REPLIES is off (or unset with speech recognition off). `coordinator`
    (several replicas): each reply is spoken under its lease, a dead replica's taken over."""
    mode = settings.voice_replies_mode
    if mode == "off" or c.auth is None:
        return None
    from bot.features.voice.policy import VoiceConfig, VoiceMode, VoicePolicy
    from bot.features.voice.replies import VoiceReplies
    from bot.foundation_models.speech_synthesis import SpeechSynthesizer

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
        synthesizer=synthesizer, sessionmaker=c.db.sessionmaker, outbox=outbox, config=config,
        coordinator=coordinator, owner=settings.replica_id,
    )
    stack.push_async_callback(voice.leases.aclose)
    return voice
