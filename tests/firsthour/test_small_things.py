"""Small things a new user trips on: counts in plural form in `insights gaps`, and
`ToolSource` exported for `App.add_tool_source`."""

from __future__ import annotations

from pathlib import Path

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


def test_check_counts_skipped_lines_as_skipped() -> None:
    """Issue 64 item 8: `11 passed, 1 failed` with three `skip` lines read as all run."""
    from bot.cli.checks import failed, passed, skipped
    from bot.plugin.outcome import summary

    lines = ([passed("a", "ok")] * 8 + [failed("yandex", "401", "fix")]
             + [skipped("speech", "the Yandex check above failed")] * 3)
    assert summary(lines) == "8 passed, 1 failed, 3 skipped"
    assert summary([passed("a", "ok")]) == "1 passed, 0 failed"


async def test_a_missing_tools_file_is_not_to_be_edited(tmp_path: Path) -> None:
    """Issue 64 item 8: "fix: edit …/nothere.toml" sent the reader to a file that is not
    there."""
    from bot.features.tools.checks import check_tools

    [line] = await check_tools(tmp_path / "nothere.toml", environ={})
    assert not line.ok
    assert not line.fix.startswith("edit")
    assert "unset TOOLS_FILE" in line.fix

