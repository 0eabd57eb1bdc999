"""bot/features/rich: which answers need a rich message, what is sent, the limits, and the
memory of refusals."""

from __future__ import annotations

import logging

import pytest

from bot.features.rich import Refusals, RichAnswers, needs_rich, rich_message
from bot.features.rich.detect import MAX_COLUMNS, MAX_TEXT, for_telegram

TABLE = "Plans:\n\n| Plan | Price |\n|---|---:|\n| Basic | 5 |\n| Pro | 10 |\n"


@pytest.mark.parametrize("markdown", [
    TABLE,
    "# Title\n\nSome text.",
    "Intro\n\n### A section\n\nmore",
    "The area is $$\\pi r^2$$ here.",
    "$$\n\\int_0^1 x\\,dx = \\tfrac12\n$$",
    "Inline \\(x^2 + y^2\\) math.",
    "Display:\n\n\\[ E = mc^2 \\]\n",
    "A variable \\(x\\) alone.",
    "- one\n  - one.a\n  - one.b\n- two",
    "1. first\n   - detail\n2. second",
    "Setext heading\n==============\n\ntext",
])
def test_what_a_plain_message_cannot_show_needs_rich(markdown: str) -> None:
    assert needs_rich(markdown)
    assert rich_message(markdown) is not None


@pytest.mark.parametrize("markdown", [
    "Just a paragraph.",
    "One paragraph.\n\nAnother one, with a [link](https://example.com).",
    "**Bold**, *italic*, ~~gone~~ and `code`.",
    "```python\nprint('| a | b |')\n```",
    "Code: `$$x$$` and `\\(y\\)`.",
    "- one\n- two\n- three",
    "1. one\n2. two",
    "> a quote\n> on two lines",
    "It costs $5, or $10 with delivery.",
    # Markdown's escaped brackets, as citations and escaped titles write them: not LaTeX.
    "Delivery takes 2 days [\\[1\\]](https://example.com/d).",
    "See \\[1\\] and the guide \\(PDF\\), pages 2\\-3.",
    "",
])
def test_what_a_plain_message_shows_stays_text(markdown: str) -> None:
    assert not needs_rich(markdown)
    assert rich_message(markdown) is None


def test_the_markdown_is_sent_as_is_with_latex_math_as_telegrams_dollars() -> None:
    assert rich_message(TABLE) == {"markdown": TABLE}
    latex = "a \\(x^2\\) b\n\n\\[ \\frac{1}{2} \\]\n"
    assert for_telegram(latex) == "a $x^2$ b\n\n$$\\frac{1}{2}$$\n"
    # Code and escaped brackets keep their backslashes.
    source = "`\\(x^2\\)` and [\\[1\\]](https://e.x) \\(PDF\\)"
    assert for_telegram(source) == source


def test_an_answer_over_a_rich_messages_limits_stays_text() -> None:
    wide = "| " + " | ".join(f"c{i}" for i in range(MAX_COLUMNS + 1)) + " |\n|" + (
        "---|" * (MAX_COLUMNS + 1)) + "\n"
    assert needs_rich(wide)
    assert rich_message(wide) is None
    rows = "| a | b |\n|---|---|\n" + "| 1 | 2 |\n" * 600  # 500 blocks at most
    assert needs_rich(rows)
    assert rich_message(rows) is None
    long = TABLE + "\n" + "word " * (MAX_TEXT // 5)
    assert needs_rich(long)
    assert rich_message(long) is None
    fits = "| a | b |\n|---|---|\n" + "| 1 | 2 |\n" * 400
    assert rich_message(fits) is not None


def test_a_refusal_is_remembered_for_a_while_and_warned_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    now = [1000.0]
    answers = RichAnswers(Refusals(remember=3600, clock=lambda: now[0]))
    first = answers.final(7, TABLE)
    assert first is not None
    assert first.rich_message == {"markdown": TABLE}
    assert answers.final(7, "plain") is None
    with caplog.at_level(logging.WARNING, logger="bot.features.rich.answers"):
        first.refused("Bad Request: RICH_MESSAGE_FORBIDDEN")
        second = answers.final(8, TABLE)  # another chat is not concerned
        assert second is not None
        first.refused("again")  # an answer in flight refused too: no second warning
    assert [r.levelname for r in caplog.records] == ["WARNING"]
    assert "chat 7" in caplog.records[0].getMessage()
    assert answers.final(7, TABLE) is None
    now[0] += 3599
    assert answers.final(7, TABLE) is None
    now[0] += 2
    assert answers.final(7, TABLE) is not None  # forgotten after an hour
