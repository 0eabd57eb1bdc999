"""The "older turns were left out" notice is said once per chat, and the chats remembered as
told are bounded (the set grew by one entry per chat, forever)."""

from __future__ import annotations

from typing import Any

from bot.conversation import TurnResult
from bot.storage.models import MessageStatus
from bot.telegram import answers
from bot.telegram.answers import Answerer
from bot.telegram.texts import Translator

T = Translator.for_code("en")
NOTICE = T("trimmed_notice")


def trimmed(text: str = "An answer.") -> TurnResult:
    return TurnResult(1, text, MessageStatus.COMPLETE, None, True, None)


def answerer() -> Answerer:
    nothing: Any = None  # building the final text needs none of them
    return Answerer(conversation=nothing, outbox=nothing, queues=nothing)


def test_the_notice_is_said_once_per_chat() -> None:
    front = answerer()
    assert NOTICE in front._final_text(trimmed(), 7, T)
    assert NOTICE not in front._final_text(trimmed(), 7, T)
    assert NOTICE in front._final_text(trimmed(), 8, T)
    front.forget_trimmed_notice(7)  # /reset: a new conversation is told again
    assert NOTICE in front._final_text(trimmed(), 7, T)


def test_the_chats_remembered_as_told_stay_bounded(monkeypatch: Any) -> None:
    monkeypatch.setattr(answers, "TOLD_TRIMMED_CHATS", 100)
    front = answerer()
    for chat in range(1, 1001):
        front._final_text(trimmed(), chat, T)
    assert len(front._told_trimmed) == 100
    assert NOTICE not in front._final_text(trimmed(), 1000, T)  # the newest are remembered
    assert NOTICE in front._final_text(trimmed(), 1, T)  # the oldest told once more
