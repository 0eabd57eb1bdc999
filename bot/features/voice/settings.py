"""Voice's section of the settings: spoken answers (VOICE_*, TTS_*: SpeechKit TTS) and voice
notes heard (SPEECH_RECOGNITION, STT_*, MAX_VOICE_SECONDS: SpeechKit STT). A leaf: pydantic and
the settings' parsing helpers only (bot/features/settings.py composes it as `settings.voice`,
and resolves its two defaults that depend on the models' credentials)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator

from bot.plugin.config import Core, Section, Switch, blank_to, url_problem

# Yandex's hosts (https://yandex.cloud/en/docs/speechkit/): SpeechKit's, and the models' whose
# override (YANDEX_LLM_URL) the speech URLs follow when they are not set.
STT = "https://stt.api.cloud.yandex.net"
TTS = "https://tts.api.cloud.yandex.net"
YANDEX_LLM = "https://llm.api.cloud.yandex.net"


class VoiceSettings(Section):
    """Voice replies, voice notes heard and long voice notes. `speech_recognition` and
    `replies` unset (None) are resolved by the composed Settings, which sees the credentials:
    recognition on when they are set, replies mirror when recognition is on (`resolved`)."""

    # --- Voice notes heard (SpeechKit STT) --------------------------------------------
    # Voice notes and OGG/Opus audio (up to 30 s, 1 MB) through SpeechKit STT with the models'
    # credentials; unset = on when credentials are set.
    speech_recognition: Literal["on", "off"] | None = Field(
        default=None, validation_alias="SPEECH_RECOGNITION")
    # SpeechKit's STT base URL; empty: Yandex's host, or YANDEX_LLM_URL when that points
    # elsewhere (an emulator or a proxy serves the models and SpeechKit on one host).
    stt_url: str = Field(default="", validation_alias="STT_URL")

    # --- Voice replies (SpeechKit TTS, OggOpus sent with sendVoice) -------------------
    # off = never; mirror = a question asked by voice is answered by voice and text (the
    # default when speech recognition is on); always = every answer in private chats.
    replies: Literal["off", "mirror", "always"] | None = Field(
        default=None, validation_alias="VOICE_REPLIES")
    # Groups get voice replies only when this is on.
    groups: Switch = Field(default=False, validation_alias="VOICE_REPLIES_GROUPS")
    # SpeechKit's base URL: requests go to {TTS_URL}/speech/v1/tts:synthesize. Empty: as
    # STT_URL, Yandex's host or YANDEX_LLM_URL when that points elsewhere.
    tts_url: str = Field(default="", validation_alias="TTS_URL")
    # The voice for a language without its own (Yandex's list: alena, filipp, ermil, jane,
    # madirus, omazh, zahar, john, ...); the per-language voices win.
    tts_voice: str = Field(default="alena", validation_alias="TTS_VOICE")
    tts_voice_ru: str = Field(default="alena", validation_alias="TTS_VOICE_RU")
    tts_voice_en: str = Field(default="john", validation_alias="TTS_VOICE_EN")
    # Speech rate, 0.1-3.0 (1.0 is the voice's own).
    tts_speed: float = Field(default=1.0, ge=0.1, le=3.0, validation_alias="TTS_SPEED")
    # Characters synthesised per user per UTC day; past it the answer stays text only.
    tts_chars_per_user_day: int = Field(default=20_000, ge=0,
                                        validation_alias="TTS_CHARS_PER_USER_DAY")

    # --- Long voice notes (SpeechKit STT v3, asynchronous) -----------------------------
    # Notes up to this many seconds are heard; over 30 s they go through the asynchronous
    # API (a durable job), longer ones are refused with the limit named.
    max_seconds: int = Field(default=300, ge=1, le=4 * 3600, validation_alias="MAX_VOICE_SECONDS")
    # Seconds between polls of a running recognition.
    poll_interval: float = Field(default=2.0, gt=0, le=60, validation_alias="STT_POLL_INTERVAL")

    @field_validator("replies", "speech_recognition", mode="before")
    @classmethod
    def _empty_voice_is_unset(cls, value: object) -> object:
        # `SPEECH_RECOGNITION=` (as .env.example has it) means "not set": on with credentials.
        return blank_to(value, None)

    @field_validator("tts_url", "stt_url")
    @classmethod
    def _strip_speech_slash(cls, value: str) -> str:
        return value.rstrip("/")

    @property
    def speech(self) -> bool:
        """Voice notes are heard (SPEECH_RECOGNITION, resolved)."""
        return self.speech_recognition == "on"

    def resolved(self, *, credentials: bool, llm_url: str = YANDEX_LLM) -> VoiceSettings:
        """A copy with the defaults resolved: SPEECH_RECOGNITION unset means on when the
        models' `credentials` are set; VOICE_REPLIES unset, mirror when recognition is on;
        STT_URL and TTS_URL unset, SpeechKit's hosts, or `llm_url` (YANDEX_LLM_URL) when it
        is not Yandex's: a local emulator then answers speech too, and `fmbot check` does not
        spend a minute retrying Yandex's hosts from a machine without the internet."""
        speech = self.speech_recognition or ("on" if credentials else "off")
        replies = self.replies or ("mirror" if speech == "on" else "off")
        # Followed only when it is a usable URL: a wrong YANDEX_LLM_URL is reported once, as
        # itself, not again as STT_URL and TTS_URL.
        own = (llm_url.rstrip("/") != YANDEX_LLM
               and url_problem("YANDEX_LLM_URL", llm_url) is None)
        copy = self.model_copy()
        copy._settle(speech_recognition=speech, replies=replies,
                     stt_url=self.stt_url or (llm_url.rstrip("/") if own else STT),
                     tts_url=self.tts_url or (llm_url.rstrip("/") if own else TTS))
        return copy

    def resolved_with(self, core: Core) -> VoiceSettings:
        """Resolved against the models' credentials and YANDEX_LLM_URL (`resolved`)."""
        return self.resolved(credentials=core.has_credentials, llm_url=core.yandex_llm_url)

    def endpoint_problems(self) -> list[str]:
        """STT_URL and TTS_URL must be http(s) URLs with a host (part of `check_yandex`)."""
        lines = (url_problem(name, value) for name, value in
                 (("STT_URL", self.stt_url), ("TTS_URL", self.tts_url)))
        return [line for line in lines if line is not None]
