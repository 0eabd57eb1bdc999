"""Small things a new user trips on: counts in plural form in `insights gaps`, and
`ToolSource` exported for `App.add_tool_source`."""

from __future__ import annotations

import bot
from bot.features.desk.insights.gaps import Gap, format_gaps


def test_gap_report_counts_read_as_english() -> None:
    gap = Gap(title="Refunds", users=1, questions=1, operator_answered=0, covered=False,
              examples=["how do I get a refund?"])
    text = format_gaps([gap], days=7)
    assert "(by users who asked; 1 topic):" in text
    assert "Refunds — 1 user, 1 question, no operator answer; open" in text
    assert "1 topics" not in text
    assert "1 users" not in text


def test_tool_source_is_part_of_the_public_api() -> None:
    assert "ToolSource" in bot.__all__
    from bot import ToolSource  # what App.add_tool_source takes

    assert ToolSource.__doc__
