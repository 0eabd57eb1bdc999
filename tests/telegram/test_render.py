"""render_markdown: what a Telegram reader sees for typical model Markdown."""

from __future__ import annotations

import pytest
from aiogram.types import MessageEntity

from bot.telegram.render import RenderedText, render_markdown, utf16_len


def spans(r: RenderedText) -> list[tuple[str, str]]:
    """(entity type, covered text) pairs, resolving UTF-16 offsets."""
    encoded = r.text.encode("utf-16-le")
    return [
        (e.type, encoded[2 * e.offset : 2 * (e.offset + e.length)].decode("utf-16-le"))
        for e in r.entities
    ]


def entity(r: RenderedText, kind: str) -> MessageEntity:
    return next(e for e in r.entities if e.type == kind)


def test_code_block_keeps_language_and_content_verbatim() -> None:
    r = render_markdown(
        "Here:\n\n```python\nif a < b and c > d:\n    print('**x**')\n```\n\nDone."
    )
    assert r.text == "Here:\n\nif a < b and c > d:\n    print('**x**')\n\nDone."
    pre = entity(r, "pre")
    assert pre.language == "python"
    assert spans(r) == [("pre", "if a < b and c > d:\n    print('**x**')")]


def test_inline_styles() -> None:
    r = render_markdown("**bold** *it* _it2_ ~~gone~~ `x = 1` ***both***")
    assert r.text == "bold it it2 gone x = 1 both"
    assert ("bold", "bold") in spans(r)
    assert ("italic", "it") in spans(r)
    assert ("italic", "it2") in spans(r)
    assert ("strikethrough", "gone") in spans(r)
    assert ("code", "x = 1") in spans(r)
    assert {k for k, t in spans(r) if t == "both"} == {"bold", "italic"}


def test_links() -> None:
    r = render_markdown("[docs](https://example.com/a?b=1) <https://bare.example> [rel](x/y)")
    assert r.text == "docs https://bare.example rel (x/y)"
    link = entity(r, "text_link")
    assert (link.offset, link.length, link.url) == (0, 4, "https://example.com/a?b=1")
    assert len(r.entities) == 1


def test_ordered_and_nested_lists() -> None:
    md = "3. three\n4. four\n   - sub *a*\n   - sub b\n     1. deep\n\nafter"
    r = render_markdown(md)
    assert r.text == "3. three\n4. four\n   • sub a\n   • sub b\n      1. deep\n\nafter".replace(
        "   • ", "   ◦ "
    )
    assert ("italic", "a") in spans(r)


def test_bullets_and_headings() -> None:
    r = render_markdown("# Title\n\n- one\n- two\n\n## Sub\ntext")
    assert r.text == "Title\n\n• one\n• two\n\nSub\n\ntext"
    assert spans(r) == [("bold", "Title"), ("bold", "Sub")]


def test_blockquote_not_nested() -> None:
    r = render_markdown("> said **this**\n> > and that\n\nreply")
    assert r.text == "said this\n\nand that\n\nreply"
    assert [k for k, _ in spans(r)].count("blockquote") == 1
    assert ("blockquote", "said this\n\nand that") in spans(r)


def test_table_is_monospace_block() -> None:
    r = render_markdown("| name | n |\n|---|--:|\n| alpha | 1 |\n| b | **22** |\n\nafter")
    assert r.text.startswith("name  |  n\n------+---\nalpha |  1\nb     | 22\n\nafter")
    assert spans(r)[0] == ("pre", "name  |  n\n------+---\nalpha |  1\nb     | 22")


def test_raw_html_is_literal_text() -> None:
    r = render_markdown("Use <div> and <b>x</b>; a < b & c > d")
    assert r.text == "Use <div> and <b>x</b>; a < b & c > d"
    assert r.entities == []


def test_utf16_offsets_count_emoji_as_two() -> None:
    r = render_markdown("😀😀 **жирный 😀** x")
    bold = entity(r, "bold")
    assert bold.offset == 5  # two emoji (2 units each) + space
    assert bold.length == utf16_len("жирный 😀") == 9
    assert spans(r) == [("bold", "жирный 😀")]


def test_blank_and_whitespace() -> None:
    assert render_markdown("") == RenderedText("", [])
    assert render_markdown("  \n\n  ") == RenderedText("", [])
    assert render_markdown("\n\nhi\n\n").text == "hi"


def test_send_kwargs_never_use_parse_mode() -> None:
    kwargs = render_markdown("**x**").send_kwargs()
    assert kwargs["parse_mode"] is None
    assert kwargs["text"] == "x"


@pytest.mark.parametrize(
    ("md", "text", "kinds"),
    [
        ("Here is **bold tex", "Here is bold tex", {"bold"}),
        ("call `foo(", "call foo(", {"code"}),
        ("see [the docs](https://exa", "see the docs", set()),
        ("a *partial ital", "a partial ital", {"italic"}),
        ("~~strike", "strike", {"strikethrough"}),
        ("done **", "done", set()),
        ("snake_case and 2*3", "snake_case and 2*3", set()),
        ("text\n```py\nx = 1\ny = ", "text\n\nx = 1\ny =", {"pre"}),
        ("```", "", set()),
        ("**a** then **b", "a then b", {"bold"}),
    ],
)
def test_half_finished_markdown_mid_stream(md: str, text: str, kinds: set[str]) -> None:
    r = render_markdown(md, partial=True)
    assert r.text == text
    assert {e.type for e in r.entities} == kinds
    # Without partial mode nothing crashes either and every entity is in bounds.
    plain = render_markdown(md)
    assert all(e.offset + e.length <= utf16_len(plain.text) for e in plain.entities)


def test_partial_mode_leaves_finished_text_alone() -> None:
    md = "# T\n\n**done** and `code` and [l](https://x.y)\n\n```py\nx\n```"
    assert render_markdown(md, partial=True) == render_markdown(md)
