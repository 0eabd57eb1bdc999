"""Settings of spoken answers (SpeechKit TTS) and of long voice notes (SpeechKit STT v3)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings


class VoiceSettings(BaseSettings):
    """Voice replies and long voice notes."""

    # --- Voice replies (SpeechKit TTS, OggOpus sent with sendVoice) -------------------
    # off = never; mirror = a question asked by voice is answered by voice and text (the
    # default when speech recognition is on); always = every answer in private chats.
    voice_replies: Literal["off", "mirror", "always"] | None = None
    # Groups get voice replies only when this is on.
    voice_replies_groups: Literal["on", "off"] = "off"
    # SpeechKit's base URL: requests go to {TTS_URL}/speech/v1/tts:synthesize.
    tts_url: str = "https://tts.api.cloud.yandex.net"
    # The voice for a language without its own (Yandex's list: alena, filipp, ermil, jane,
    # madirus, omazh, zahar, john, ...); the per-language voices win.
    tts_voice: str = "alena"
    tts_voice_ru: str = "alena"
    tts_voice_en: str = "john"
    # Speech rate, 0.1-3.0 (1.0 is the voice's own).
    tts_speed: float = Field(default=1.0, ge=0.1, le=3.0)
    # Characters synthesised per user per UTC day; past it the answer stays text only.
    tts_chars_per_user_day: int = Field(default=20_000, ge=0)

    # --- Long voice notes (SpeechKit STT v3, asynchronous) -----------------------------
    # Notes up to this many seconds are heard; over 30 s they go through the asynchronous
    # API (a durable job), longer ones are refused with the limit named.
    max_voice_seconds: int = Field(default=300, ge=1, le=4 * 3600)
    # Seconds between polls of a running recognition.
    stt_poll_interval: float = Field(default=2.0, gt=0, le=60)

    @field_validator("voice_replies", mode="before")
    @classmethod
    def _empty_voice_is_unset(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("tts_url")
    @classmethod
    def _strip_tts_slash(cls, value: str) -> str:
        return value.rstrip("/")
