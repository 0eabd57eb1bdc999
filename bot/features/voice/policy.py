"""Who hears an answer spoken: the deployment's VOICE_REPLIES, the chat type, the user's own
/voice choice and whether the question itself was spoken."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol


class VoiceMode(StrEnum):
    OFF = "off"
    MIRROR = "mirror"  # a question asked by voice is answered by voice (and text)
    ALWAYS = "always"  # every answer in private chats


class VoiceAsk(Protocol):
    """What the policy reads of who asked (the Telegram front's `Asked`): whether by voice."""

    @property
    def spoken(self) -> bool: ...


@dataclass(frozen=True, slots=True)
class VoicePolicy:
    mode: VoiceMode = VoiceMode.OFF
    groups: bool = False  # VOICE_REPLIES_GROUPS

    def may_speak(self, *, private: bool) -> bool:
        """Whether any answer in this kind of chat can be spoken (False: `wanted` is False
        whatever was asked and chosen)."""
        return self.mode is not VoiceMode.OFF and (private or self.groups)

    def wanted(self, ask: VoiceAsk, *, private: bool, choice: bool | None) -> bool:
        """Whether this answer is spoken. ``choice``: the user's /voice on|off (None: never
        said). /voice on in a mirror deployment speaks every private answer, /voice off
        speaks none; groups follow VOICE_REPLIES_GROUPS first."""
        if not self.may_speak(private=private) or choice is False:
            return False
        if ask.spoken:
            return True
        return private and (choice is True or self.mode is VoiceMode.ALWAYS)


VOICE_MAX_BYTES = 45 * 1024 * 1024  # one voice message (the Bot API takes up to 50 MB)


@dataclass(frozen=True, slots=True)
class VoiceConfig:
    policy: VoicePolicy
    voice: str = ""  # TTS_VOICE, for a language without its own
    voices: dict[str, str] = field(default_factory=dict)  # "ru" -> TTS_VOICE_RU, ...
    speed: float = 1.0
    chars_per_day: int = 20_000
    max_bytes: int = VOICE_MAX_BYTES
    concurrency: int = 4  # parts synthesised at once (SpeechKit's quota is 40 a second)

    def voice_for(self, language: str) -> str:
        return self.voices.get(language.split("-", 1)[0].lower(), self.voice)
