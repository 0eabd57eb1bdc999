"""Who hears an answer spoken: VOICE_REPLIES, groups, the user's /voice choice, a spoken
question."""

from __future__ import annotations

import pytest

from bot.features.voice.policy import VoiceMode, VoicePolicy
from bot.telegram.answer_parts import Asked

TYPED = Asked(user_id=1, language="en", question_id=5)
SPOKEN = Asked(user_id=1, language="en", question_id=5, spoken=True)


@pytest.mark.parametrize(
    ("mode", "groups", "ask", "private", "choice", "wanted"),
    [
        (VoiceMode.MIRROR, False, SPOKEN, True, None, True),
        (VoiceMode.MIRROR, False, TYPED, True, None, False),
        (VoiceMode.MIRROR, False, TYPED, True, True, True),  # /voice on: every private answer
        (VoiceMode.MIRROR, False, SPOKEN, True, False, False),  # /voice off
        (VoiceMode.ALWAYS, False, TYPED, True, None, True),
        (VoiceMode.ALWAYS, False, TYPED, True, False, False),
        (VoiceMode.ALWAYS, False, TYPED, False, None, False),  # groups: never by default
        (VoiceMode.MIRROR, False, SPOKEN, False, True, False),
        (VoiceMode.MIRROR, True, SPOKEN, False, None, True),  # VOICE_REPLIES_GROUPS=on
        (VoiceMode.ALWAYS, True, TYPED, False, None, False),  # "always" is for private chats
        (VoiceMode.OFF, True, SPOKEN, True, True, False),
    ],
)
def test_who_hears_the_answer(
    mode: VoiceMode, groups: bool, ask: Asked, private: bool, choice: bool | None,
    wanted: bool,
) -> None:
    assert VoicePolicy(mode, groups).wanted(ask, private=private, choice=choice) is wanted


@pytest.mark.parametrize("mode", list(VoiceMode))
@pytest.mark.parametrize("groups", [False, True])
@pytest.mark.parametrize("private", [False, True])
def test_may_speak_is_false_only_where_no_answer_is_wanted(
    mode: VoiceMode, groups: bool, private: bool
) -> None:
    """The reads before `wanted` are skipped where `may_speak` says no: it must never say
    no where some question and choice would be spoken."""
    policy = VoicePolicy(mode, groups)
    some = any(
        policy.wanted(ask, private=private, choice=choice)
        for ask in (TYPED, SPOKEN)
        for choice in (None, True, False)
    )
    assert policy.may_speak(private=private) is some
