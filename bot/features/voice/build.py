"""Voice wired: voice notes heard by SpeechKit (long ones through its asynchronous
recognition), and answers spoken by SpeechKit TTS with the models' credentials (the policy
from VOICE_REPLIES; the Answerer speaks a delivered answer through it)."""

from __future__ import annotations

from contextlib import AsyncExitStack
from typing import TYPE_CHECKING

from bot.features.voice.settings import VoiceSettings

if TYPE_CHECKING:
    from bot.features.voice.longvoice import LongNotes
    from bot.features.voice.notes import VoiceInput
    from bot.features.voice.replies import VoiceReplies
    from bot.plugin.coordination import Coordinator
    from bot.plugin.ground import Groundwork
    from bot.plugin.telegram import (
        FrontParts,
        Outbox,
        TelegramFiles,
        TelegramPart,
    )


def build_voice(
    ground: Groundwork, outbox: Outbox, stack: AsyncExitStack,
    coordinator: Coordinator | None = None,
) -> VoiceReplies | None:
    """None when VOICE_REPLIES is off (or unset with speech recognition off). `coordinator`
    (several replicas): each reply is spoken under its lease, a dead replica's taken over."""
    settings = ground.settings
    area = settings.section(VoiceSettings)
    if area.replies is None or area.replies == "off":  # None: resolved by Settings, never
        return None
    from bot.features.voice.policy import VoiceConfig, VoiceMode, VoicePolicy
    from bot.features.voice.replies import VoiceReplies
    from bot.plugin.models import SpeechSynthesizer

    synthesizer = SpeechSynthesizer(
        base_url=area.tts_url, auth=ground.auth, folder_id=settings.yandex_folder_id,
        http=ground.http,
    )
    stack.push_async_callback(synthesizer.aclose)
    config = VoiceConfig(
        policy=VoicePolicy(VoiceMode(area.replies), groups=area.groups),
        voice=area.tts_voice,
        voices={"ru": area.tts_voice_ru, "en": area.tts_voice_en},
        speed=area.tts_speed,
        chars_per_day=area.tts_chars_per_user_day,
    )
    voice = VoiceReplies(
        synthesizer=synthesizer, sessionmaker=ground.db.sessionmaker, outbox=outbox,
        config=config, coordinator=coordinator, owner=settings.replica_id,
    )
    stack.push_async_callback(voice.leases.aclose)
    return voice


def build_voice_input(
    ground: Groundwork, files: TelegramFiles, stack: AsyncExitStack
) -> VoiceInput | None:
    """Voice notes heard by SpeechKit (long ones through its asynchronous API); None with
    SPEECH_RECOGNITION off."""
    from bot.features.voice.hearing import VoiceNotes
    from bot.features.voice.notes import VoiceInput
    from bot.plugin.models import SpeechRecognizer

    settings = ground.settings
    if not settings.section(VoiceSettings).speech:
        return None
    # SpeechKit STT with the models' credentials.
    stt_url = settings.section(VoiceSettings).stt_url
    recognizer = SpeechRecognizer(base_url=stt_url, auth=ground.auth,
                                  folder_id=settings.yandex_folder_id, http=ground.http)
    stack.push_async_callback(recognizer.aclose)
    return VoiceInput(VoiceNotes(files, recognizer), build_long_voice(ground, files, stack))


def build_long_voice(ground: Groundwork, files: TelegramFiles, stack: AsyncExitStack) -> LongNotes:
    """Voice notes over 30 s through SpeechKit's asynchronous API (with recognition on)."""
    from bot.features.voice.longvoice import LongNotes
    from bot.plugin.models import AsyncSpeechRecognizer

    settings = ground.settings
    area = settings.section(VoiceSettings)
    recognizer = AsyncSpeechRecognizer(
        base_url=area.stt_url, operation_url=settings.yandex_operation_url,
        auth=ground.auth, folder_id=settings.yandex_folder_id, http=ground.http,
    )
    stack.push_async_callback(recognizer.aclose)
    return LongNotes(
        files=files, recognizer=recognizer, sessionmaker=ground.db.sessionmaker,
        max_seconds=area.max_seconds, poll_interval=area.poll_interval,
    )


def voice_on_telegram(
    front: FrontParts,
    voice: VoiceReplies | None, heard: VoiceInput | None = None
) -> TelegramPart:
    """Voice on the Telegram front: voice notes answered (`heard`: with SPEECH_RECOGNITION;
    without it, a note is told the bot reads text), /voice (which says when spoken answers
    are off), its lines of /help and /stats, and with VOICE_REPLIES the delivered answers
    spoken, its service started and stopped with the bot."""

    from bot.features.voice import handlers as voice_handlers
    from bot.features.voice import notes
    from bot.features.voice.lines import VoiceLines
    from bot.plugin.telegram import TelegramPart

    # The desk gives operators a note's transcript beside it (`hearing`).
    data = {"voice_input": heard, "hearing": heard.notes if heard is not None else None,
            "voice_replies": voice}
    takes = ("help_takes_voice",) if heard is not None else ()
    return TelegramPart(
        early=[voice_handlers.build_router(voice)], late=[notes.build_router()], data=data,
        takes=takes, after_delivery=voice, services=[voice] if voice is not None else (),
        lines=VoiceLines(voice),
    )
