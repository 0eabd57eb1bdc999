"""Property tests: entities always in bounds, no markup leftovers, splitting loses nothing."""

from __future__ import annotations

import re
import sys

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from bot.telegram.render import RenderedText, markdown, render_markdown, split_rendered, utf16_len
from bot.telegram.render import partial as partial_markup

WORD = st.text(alphabet=st.sampled_from(list("abcxyzабвгдё0123é😀🇷👍🏽")), min_size=1, max_size=8)
Doc = tuple[str, list[str], list[tuple[str, str]]]
STYLES = {"**": "bold", "*": "italic", "_": "italic", "~~": "strikethrough", "`": "code"}


def check_bounds(r: RenderedText) -> None:
    total = utf16_len(r.text)
    for e in r.entities:
        assert e.length > 0
        assert e.offset >= 0
        assert e.offset + e.length <= total, (r.text, e)
    # offsets never land inside a surrogate pair
    encoded = r.text.encode("utf-16-le")
    for e in r.entities:
        encoded[2 * e.offset : 2 * (e.offset + e.length)].decode("utf-16-le")


@st.composite
def inline_span(draw: st.DrawFn) -> Doc:
    """(markdown, words, expected (entity type, text)) for one styled or plain word."""
    word = draw(WORD)
    style = draw(st.sampled_from([*STYLES, "", "", "link"]))
    if style == "link":
        return f"[{word}](https://example.com/{len(word)})", [word], [("text_link", word)]
    if style:
        return f"{style}{word}{style}", [word], [(STYLES[style], word)]
    return word, [word], []


@st.composite
def paragraph(draw: st.DrawFn) -> Doc:
    spans = draw(st.lists(inline_span(), min_size=1, max_size=6))
    return (
        " ".join(s[0] for s in spans),
        [w for s in spans for w in s[1]],
        [x for s in spans for x in s[2]],
    )


@st.composite
def block(draw: st.DrawFn) -> Doc:
    kind = draw(st.sampled_from(["p", "p", "h", "code", "quote", "ul", "ol"]))
    if kind == "code":
        words = draw(st.lists(WORD, min_size=1, max_size=5))
        lang = draw(st.sampled_from(["", "python", "js"]))
        body = "\n".join(words)
        return f"```{lang}\n{body}\n```", words, [("pre", body)]
    if kind in ("ul", "ol"):
        items = draw(st.lists(paragraph(), min_size=1, max_size=4))
        lines = [
            (f"{n + 1}. " if kind == "ol" else "- ") + md for n, (md, _, _) in enumerate(items)
        ]
        return (
            "\n".join(lines),
            [w for i in items for w in i[1]],
            [x for i in items for x in i[2]],
        )
    md, words, expected = draw(paragraph())
    if kind == "h":
        return "## " + md, words, expected
    if kind == "quote":
        return "> " + md, words, expected
    return md, words, expected


@st.composite
def document(draw: st.DrawFn) -> Doc:
    blocks = draw(st.lists(block(), min_size=1, max_size=6))
    return (
        "\n\n".join(b[0] for b in blocks),
        [w for b in blocks for w in b[1]],
        [x for b in blocks for x in b[2]],
    )


def covered(r: RenderedText) -> list[tuple[str, str]]:
    encoded = r.text.encode("utf-16-le")
    return [
        (e.type, encoded[2 * e.offset : 2 * (e.offset + e.length)].decode("utf-16-le"))
        for e in r.entities
    ]


MARKER = re.compile(r"^(\d+\.|[•◦▪])$")


@pytest.mark.slow
@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow])
@given(document())
def test_well_formed_markdown_leaves_no_markup(doc: Doc) -> None:
    md, words, expected = doc
    for partial in (False, True):
        r = render_markdown(md, partial=partial)
        check_bounds(r)
        assert not re.search(r"[*`~\[\]#>]", r.text), (md, r.text)
        assert [t for t in r.text.split() if not MARKER.match(t)] == words
        spans = covered(r)
        for item in expected:
            assert item in spans, (md, item, spans)


@settings(max_examples=150)
@given(st.text(alphabet=st.sampled_from(list("*_~`[]()#>-|!\\<&\n 1.aé😀")), max_size=80))
@example("-\n\n1")  # an empty list item: streamed in blocks, it once rendered differently
@example("1\n>\n\n1")  # an empty block quote: likewise (found by this test beside a busy loop)
def test_any_input_renders_in_bounds(md: str) -> None:
    for partial in (False, True):
        rendered = render_markdown(md, partial=partial)
        check_bounds(rendered)
        assert render_markdown(md, partial=partial, cache={}) == rendered


@pytest.mark.slow
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(document(), min_size=1, max_size=5), st.integers(min_value=5, max_value=40))
def test_incremental_rendering_equals_full_rendering(docs: list[Doc], step: int) -> None:
    """Frames of a growing answer rendered with a stream's block cache == rendered afresh."""
    md = "\n\n".join(d[0] for d in docs)
    cache: dict[str, object] = {}
    for end in [*range(step, len(md), step), len(md)]:
        frame = md[:end]
        got = render_markdown(frame, partial=True, cache=cache)  # type: ignore[arg-type]
        assert got == render_markdown(frame, partial=True), frame


def char_marks(r: RenderedText) -> list[tuple[str, frozenset[tuple[str, str | None, str | None]]]]:
    """Each non-whitespace character with the set of entities covering it."""
    out = []
    pos = 0
    for ch in r.text:
        width = 2 if ord(ch) > 0xFFFF else 1
        if not ch.isspace():
            marks = frozenset(
                (e.type, e.language, e.url)
                for e in r.entities
                if e.offset <= pos and pos + width <= e.offset + e.length
            )
            out.append((ch, marks))
        pos += width
    return out


def check_split(r: RenderedText, limit: int) -> list[RenderedText]:
    parts = split_rendered(r, limit)
    for part in parts:
        assert 0 < utf16_len(part.text) <= limit
        assert part.text.strip()
        check_bounds(part)
        part.text.encode("utf-16-le").decode("utf-16-le")
    assert [m for p in parts for m in char_marks(p)] == char_marks(r)
    return parts


@pytest.mark.slow
@settings(max_examples=80, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(document(), min_size=1, max_size=4), st.integers(min_value=2, max_value=120))
def test_split_loses_and_duplicates_nothing(docs: list[Doc], limit: int) -> None:
    md = "\n\n".join(d[0] for d in docs)
    check_split(render_markdown(md), limit)


@settings(max_examples=120)
@given(
    st.text(alphabet=st.sampled_from(list("ab 😀\n.é👍")), min_size=1, max_size=200),
    st.integers(min_value=2, max_value=9),
)
def test_split_plain_text_never_breaks_surrogate_pairs(text: str, limit: int) -> None:
    check_split(RenderedText(text, []), limit)


# Prose-like text (mostly without markup characters, so the shortcut often applies), with
# every character that can turn prose into something else.
PROSE = st.text(
    alphabet=st.sampled_from(list("ab é😀.,:;!?()'\"-+=#>0123456789\n\n    ")), max_size=120
) | st.text(
    alphabet=st.sampled_from(
        list("ab é😀.,:;!?()'\"-+=#>0123456789\n\n    \t\r\x00\xa0\u2028\u3000*_~`[]<>&|\\")
    ),
    max_size=120,
)


def parsed(md: str) -> tuple[str, list[object]]:
    writer = markdown._Writer()
    markdown._blocks(markdown._PARSER.parse(md), writer)
    return writer.raw()


@pytest.mark.slow
@settings(max_examples=600)
@given(PROSE)
def test_plain_paragraph_shortcut_equals_the_parser(md: str) -> None:
    plain = markdown._plain_paragraphs(md)
    if plain is not None:
        assert (plain, []) == parsed(md)


@pytest.mark.parametrize(
    "md",
    [
        "one line",
        "  lead and trail  \n  next line  ",
        "para one\n\n\n   \npara two\nsame para",
        'Echo: question 12. It costs 3 (three) - or 4! "Fine", isn\'t it? a=b; c+d; #x >y',
        "Привет,   мир. Ещё   строка",
    ],
)
def test_plain_paragraph_shortcut_takes_prose(md: str) -> None:
    plain = markdown._plain_paragraphs(md)
    assert plain is not None
    assert (plain, []) == parsed(md)
    assert render_markdown(md) == RenderedText(plain.strip())


@pytest.mark.parametrize(
    "md", ["1. item", "# head", "- item", "a\n===", "    code", "a\tb", "a\xa0b", "x *y*", "a|b"]
)
def test_plain_paragraph_shortcut_leaves_markup_to_the_parser(md: str) -> None:
    assert markdown._plain_paragraphs(md) is None


def test_other_spaces_are_all_whitespace_but_space_and_newline() -> None:
    every = {chr(i) for i in range(sys.maxunicode + 1) if chr(i).isspace()} - {" ", "\n"}
    assert set(markdown.OTHER_SPACES) == every


@pytest.mark.slow
@settings(max_examples=400)
@given(st.text(alphabet=st.sampled_from(list("ab *_~`[](!)\\\n.")), max_size=60))
def test_close_dangling_markup_shortcuts_change_nothing(md: str) -> None:
    # The shortcuts skip work only when it could not change the text: compare with the
    # regexes applied unconditionally.
    head, sep, tail = md.rpartition("\n\n")
    if not partial_markup._inside_open_fence(md):
        tail = partial_markup._PARTIAL_LINK.sub(lambda m: m.group(2), tail)
        tail = partial_markup._TRAILING_OPENER.sub(lambda m: m.group(1), tail)
        expected = head + sep + partial_markup._close_inline(tail)
    else:
        expected = md
    assert partial_markup.close_dangling_markup(md) == expected
