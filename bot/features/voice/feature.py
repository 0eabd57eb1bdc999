"""Voice as one `Feature`: voice notes heard (SPEECH_RECOGNITION, long ones too) and answers
spoken (VOICE_REPLIES) on Telegram, SpeechKit's checks, its part of `fmbot report`, its
tables and texts."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.features.voice.settings import VoiceSettings
from bot.plugin.feature import Feature, FeatureCheck

if TYPE_CHECKING:
    from bot.plugin.commands import ReportSection
    from bot.plugin.context import FeatureContext
    from bot.plugin.outcome import Outcome
    from bot.plugin.storage import Database


async def lifespan(ctx: FeatureContext) -> None:
    """Voice: SpeechKit's checks and its part of `fmbot report`; on Telegram, voice notes
    heard (over 30 s too: MAX_VOICE_SECONDS) and answers spoken, with replicas each reply
    under its lease."""
    voice, folder = ctx.section(VoiceSettings), ctx.settings.yandex_folder_id
    settings = ctx.settings
    if voice.speech:
        async def recognition() -> list[Outcome]:
            from bot.features.voice.checks import check_recognition
            from bot.plugin.clients import build_auth_from

            return [await check_recognition(voice, folder_id=folder,
                                            auth=lambda: build_auth_from(settings))]

        ctx.check(FeatureCheck("speech recognition", recognition))
    if voice.replies != "off":
        async def synthesis() -> list[Outcome]:
            from bot.features.voice.checks import check_synthesis
            from bot.plugin.clients import build_auth_from

            return [await check_synthesis(voice, folder_id=folder,
                                          auth=lambda: build_auth_from(settings))]

        ctx.check(FeatureCheck("speech synthesis", synthesis))

    async def report(db: Database, days: int) -> ReportSection:
        from bot.features.voice.report import voice_part

        return await voice_part(voice)(db, days)

    ctx.report(report)
    front = await ctx.telegram()
    if front is None:
        return
    from bot.features.voice.build import build_voice, build_voice_input, voice_on_telegram

    ground, stack = front.ground, front.ground.stack
    ctx.on_front(voice_on_telegram(front.parts,
                                   build_voice(ground, front.outbox, stack, front.leases),
                                   build_voice_input(ground, front.files, stack)))


FEATURE = Feature(
    name="voice",
    settings=VoiceSettings,
    tables=("bot.features.voice.models",),
    texts=("bot.features.voice.texts",),
    lifespan=lifespan,
)
