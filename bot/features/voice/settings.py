"""Voice's section of the settings: spoken answers (VOICE_*, TTS_*: SpeechKit TTS) and voice
notes heard (SPEECH_RECOGNITION, STT_*, MAX_VOICE_SECONDS: SpeechKit STT). A leaf: pydantic and
the settings' parsing helpers only (bot/features/settings.py composes it)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings

from bot.config.parsing import _blank_to, url_problem


@dataclass(frozen=True, slots=True)
class VoiceArea:
    """Voice's settings, resolved: `speech` is SPEECH_RECOGNITION or its default (on with the
    models' credentials); `replies` is VOICE_REPLIES or its default (mirror when speech is
    on, off otherwise)."""

    speech: bool
    replies: Literal["off", "mirror", "always"]
    groups: bool
    tts_url: str
    tts_voice: str
    tts_voice_ru: str
    tts_voice_en: str
    tts_speed: float
    tts_chars_per_user_day: int
    stt_url: str
    max_seconds: int
    poll_interval: float


class VoiceSettings(BaseSettings):
    """Voice replies, voice notes heard and long voice notes."""

    # --- Voice notes heard (SpeechKit STT) --------------------------------------------
    # Voice notes and OGG/Opus audio (up to 30 s, 1 MB) through SpeechKit STT with the models'
    # credentials; unset = on when credentials are set.
    speech_recognition: Literal["on", "off"] | None = None
    stt_url: str = "https://stt.api.cloud.yandex.net"

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

    @field_validator("voice_replies", "speech_recognition", mode="before")
    @classmethod
    def _empty_voice_is_unset(cls, value: object) -> object:
        # `SPEECH_RECOGNITION=` (as .env.example has it) means "not set": on with credentials.
        return _blank_to(value, None)

    @field_validator("tts_url", "stt_url")
    @classmethod
    def _strip_speech_slash(cls, value: str) -> str:
        return value.rstrip("/")

    @property
    def has_credentials(self) -> bool:
        """Whether the models' credentials are set: this section alone has none; the
        composed Settings answers from YANDEX_* (bot/config)."""
        return False

    @property
    def speech_on(self) -> bool:
        """SPEECH_RECOGNITION, unset meaning on when model credentials are set."""
        if self.speech_recognition is not None:
            return self.speech_recognition == "on"
        return self.has_credentials

    @property
    def voice_replies_mode(self) -> Literal["off", "mirror", "always"]:
        """VOICE_REPLIES, unset meaning mirror when speech recognition is on."""
        if self.voice_replies is not None:
            return self.voice_replies
        return "mirror" if self.speech_on else "off"

    @property
    def voice(self) -> VoiceArea:
        """Voice's settings as one value, the defaults resolved."""
        return VoiceArea(
            speech=self.speech_on, replies=self.voice_replies_mode,
            groups=self.voice_replies_groups == "on", tts_url=self.tts_url,
            tts_voice=self.tts_voice, tts_voice_ru=self.tts_voice_ru,
            tts_voice_en=self.tts_voice_en, tts_speed=self.tts_speed,
            tts_chars_per_user_day=self.tts_chars_per_user_day, stt_url=self.stt_url,
            max_seconds=self.max_voice_seconds, poll_interval=self.stt_poll_interval,
        )

    def speech_endpoint_problems(self) -> list[str]:
        """STT_URL and TTS_URL must be http(s) URLs with a host (part of `check_yandex`)."""
        lines = (url_problem(name, getattr(self, name)) for name in ("stt_url", "tts_url"))
        return [line for line in lines if line is not None]
