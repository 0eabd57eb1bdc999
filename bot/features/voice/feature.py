"""Voice as one `Feature`: voice notes heard (SPEECH_RECOGNITION, long ones too) and answers
spoken (VOICE_REPLIES) on Telegram, SpeechKit's checks, its part of `fmbot report`, its
tables and texts."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from bot.features.voice.settings import VoiceSettings
from bot.plugin.feature import Feature, FeatureCheck, TelegramParts

if TYPE_CHECKING:
    from bot.plugin.built import Built
    from bot.plugin.commands import ReportPart
    from bot.plugin.ground import TelegramGround
    from bot.plugin.outcome import Outcome
    from bot.plugin.settings import Settings


def _on_telegram(front: TelegramGround, built: Built) -> TelegramParts:
    from bot.features.voice.build import build_voice, build_voice_input, voice_on_telegram

    ground, stack = front.ground, front.ground.stack
    # Voice notes heard (over 30 s too: MAX_VOICE_SECONDS); answers spoken, with replicas
    # each reply under its lease.
    return TelegramParts(part=voice_on_telegram(
        build_voice(ground, front.outbox, stack, front.leases),
        build_voice_input(ground, front.files, stack)))


def _checks(settings: Settings, environ: Mapping[str, str]) -> list[FeatureCheck]:
    from bot.plugin.clients import build_auth_from

    voice, folder = settings.section(VoiceSettings), settings.yandex_folder_id
    checks = []
    if voice.speech:
        async def recognition() -> list[Outcome]:
            from bot.features.voice.checks import check_recognition

            return [await check_recognition(voice, folder_id=folder,
                                            auth=lambda: build_auth_from(settings))]

        checks.append(FeatureCheck("speech recognition", recognition))
    if voice.replies != "off":
        async def synthesis() -> list[Outcome]:
            from bot.features.voice.checks import check_synthesis

            return [await check_synthesis(voice, folder_id=folder,
                                          auth=lambda: build_auth_from(settings))]

        checks.append(FeatureCheck("speech synthesis", synthesis))
    return checks


def _report(settings: Settings) -> list[ReportPart]:
    from bot.features.voice.report import voice_part

    return [voice_part(settings.section(VoiceSettings))]


FEATURE = Feature(
    name="voice",
    settings=VoiceSettings,
    tables=("bot.features.voice.models",),
    texts=("bot.features.voice.texts",),
    checks=_checks,
    report=_report,
    on_telegram=_on_telegram,
)
