"""`bot check` for voice: SpeechKit recognises a built-in sample (voice notes heard: the role
ai.speechkit-stt.user) and speaks a one-word sample (voice replies: ai.speechkit-tts.user),
each with the models' credentials, the missing role named."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from bot.features.voice.settings import VoiceSettings
from bot.plugin.outcome import Outcome, failed, passed

if TYPE_CHECKING:
    from bot.plugin.models import Auth

SAMPLE = "Проверка"  # one word; a few characters of the budget


async def check_synthesis(voice: VoiceSettings, *, folder_id: str,
                          auth: Callable[[], Auth]) -> Outcome:
    """SpeechKit speaks a sample in folder `folder_id` with the credentials `auth` makes (a
    FoundationModelsError from it is this check's failure)."""
    from bot.plugin.models import (
        TTS_ROLE,
        APIConnectionError,
        FoundationModelsError,
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
    except FoundationModelsError as exc:
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
    except APIConnectionError as exc:
        return failed(name, f"cannot reach {voice.tts_url}: {exc}",
                      f"check the network, a proxy or TTS_URL, {off}")
    except FoundationModelsError as exc:
        return failed(name, f"synthesis failed: {exc}",
                      f"check TTS_VOICE_RU ({voice.tts_voice_ru}) and TTS_SPEED, {off}")
    finally:
        await synthesizer.aclose()
    return passed(name, f"SpeechKit spoke a one-word sample ({len(audio)} bytes of OggOpus, "
                        f"{voice.tts_url})")


async def check_recognition(voice: VoiceSettings, *, folder_id: str,
                            auth: Callable[[], Auth]) -> Outcome:
    """SpeechKit recognises the built-in sample (a short OGG/Opus note) in folder `folder_id`
    with the credentials `auth` makes: this proves the key's scope and the role
    ai.speechkit-stt.user."""
    from importlib.resources import files

    from bot.plugin.models import (
        STT_ROLE,
        APIConnectionError,
        FoundationModelsError,
        SpeechPermissionError,
        SpeechRecognizer,
    )

    name = "speech recognition"
    off = "or set SPEECH_RECOGNITION=off to answer voice messages with a text-only notice"
    try:
        recognizer = SpeechRecognizer(base_url=voice.stt_url, auth=auth(), folder_id=folder_id)
    except FoundationModelsError as exc:
        return failed(name, str(exc), "check the Yandex credentials")
    sample = files("bot").joinpath("data/speech_sample.ogg").read_bytes()
    try:
        await recognizer.recognize(sample, language="ru-RU", seconds=2)
    except SpeechPermissionError:
        return failed(name, f"SpeechKit refused the credentials (401/403) at {voice.stt_url}",
                      f"give the service account the role {STT_ROLE} in folder "
                      f"{folder_id} (ai.editor includes it), {off}")
    except APIConnectionError as exc:
        return failed(name, f"cannot reach {voice.stt_url}: {exc}",
                      f"check the network, a proxy or STT_URL, {off}")
    except FoundationModelsError as exc:
        return failed(name, f"recognition failed: {exc}", f"retry later, {off}")
    finally:
        await recognizer.aclose()
    return passed(name, f"SpeechKit recognised the built-in sample ({voice.stt_url})")
