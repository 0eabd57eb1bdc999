"""The hooks' events carry typed values (`bot.AnswerStatus`, `HandoffReason`,
`ToolCallOutcome`): each covers every value fmbot stores, and nothing else gets in."""

from __future__ import annotations

from typing import get_args

import pytest

from bot import AnswerStatus, HandoffReason, ToolCallOutcome
from bot.extending.events import answer_status, handoff_reason, tool_call_outcome
from bot.extending.tools import ToolOutcome
from bot.features.desk.storage.models import HandoffReason as StoredReason
from bot.features.extensions.turn import FINAL_FOR_HOOKS


def test_every_final_status_a_hook_hears_is_an_answer_status() -> None:
    assert {status.value for status in FINAL_FOR_HOOKS} == set(get_args(AnswerStatus))


def test_every_handoff_reason_and_tool_outcome_is_typed() -> None:
    assert {reason.value for reason in StoredReason} == set(get_args(HandoffReason))
    assert {outcome.value for outcome in ToolOutcome} <= set(get_args(ToolCallOutcome))
    assert handoff_reason("kb_miss") == "kb_miss"
    assert tool_call_outcome(None) == ""


def test_a_value_outside_the_type_is_refused() -> None:
    with pytest.raises(ValueError, match="waiting"):
        answer_status("waiting")
    with pytest.raises(ValueError, match="exploded"):
        tool_call_outcome("exploded")
