"""`bot check` for voice replies: SpeechKit speaks a one-word sample with the models'
credentials, which proves the role ai.speechkit-tts.user (named when it is missing)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from bot.cli.checks.outcome import Outcome, failed, passed
from bot.features.voice.settings import VoiceArea

if TYPE_CHECKING:
    from bot.foundation_models.auth import Auth

SAMPLE = "Проверка"  # one word; a few characters of the budget


async def check_synthesis(voice: VoiceArea, *, folder_id: str,
                          auth: Callable[[], Auth]) -> Outcome:
    """SpeechKit speaks a sample in folder `folder_id` with the credentials `auth` makes (a
    FoundationModelsError from it is this check's failure)."""
    from bot.foundation_models import errors
    from bot.foundation_models.speech_synthesis import (
        TTS_ROLE,
        SpeechSynthesizer,
        SynthesisPermissionError,
        SynthesisQuotaError,
    )

    name = "speech synthesis"
    off = "or set VOICE_REPLIES=off to answer in text only"
    try:
        synthesizer = SpeechSynthesizer(
            base_url=voice.tts_url, auth=auth(), folder_id=folder_id,
        )
    except errors.FoundationModelsError as exc:
        return failed(name, str(exc), "check the Yandex credentials")
    try:
        audio = await synthesizer.synthesize(SAMPLE, language="ru-RU",
                                             voice=voice.tts_voice_ru, speed=voice.tts_speed)
    except SynthesisPermissionError:
        return failed(name, f"SpeechKit refused the credentials (401/403) at {voice.tts_url}",
                      f"give the service account the role {TTS_ROLE} in folder "
                      f"{folder_id}, {off}")
    except SynthesisQuotaError as exc:
        return failed(name, f"over SpeechKit's quota: {exc}", f"retry later, {off}")
    except errors.APIConnectionError as exc:
        return failed(name, f"cannot reach {voice.tts_url}: {exc}",
                      f"check the network, a proxy or TTS_URL, {off}")
    except errors.FoundationModelsError as exc:
        return failed(name, f"synthesis failed: {exc}",
                      f"check TTS_VOICE_RU ({voice.tts_voice_ru}) and TTS_SPEED, {off}")
    finally:
        await synthesizer.aclose()
    return passed(name, f"SpeechKit spoke a one-word sample ({len(audio)} bytes of OggOpus, "
                        f"{voice.tts_url})")
