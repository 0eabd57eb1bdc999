"""Who hears an answer spoken: the deployment's VOICE_REPLIES, the chat type, the user's own
/voice choice and whether the question itself was spoken."""

from __future__ import annotations

from dataclasses import dataclass
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

    def default_on(self) -> bool:
        return self.mode is not VoiceMode.OFF
