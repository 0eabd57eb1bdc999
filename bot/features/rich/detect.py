"""Does an answer's Markdown need a rich message, and does it fit one?

A plain message shows bold, italic, code, links, quotes and a flat list well (our entities,
bot/telegram/render); it cannot show a table (an aligned ``pre`` block is the best it can do), a
heading (bold text), math, or a list inside a list (its indents are lost). Those answers go as
rich messages (Bot API 10.1). The Markdown is parsed with markdown-it as the renderer parses it
(CommonMark with GFM tables), so what counts as a table here is what would have been drawn as a
``pre`` block there.

Limits of a rich message (https://core.telegram.org/bots/api#inputrichmessage, "Rich Message
Limits"): 32,768 characters of text, 500 blocks (nested blocks, list items and table rows
included), 16 levels of nesting, 20 columns in a table. An answer over one of them is sent as
text, as before (split at 4,096).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from markdown_it import MarkdownIt
from markdown_it.token import Token

MAX_TEXT = 32_768
MAX_BLOCKS = 500
MAX_DEPTH = 16
MAX_COLUMNS = 20

_PARSER = MarkdownIt("commonmark", {"html": False}).enable(["table", "strikethrough"])
# Math: display `$$…$$`, LaTeX's display `\[…\]` on lines of its own and inline `\(…\)`, each
# read past the code around it (math inside code stays code). A single `$…$` is not taken for
# math ("$5 and $10" is money). `\[`, `\]`, `\(` and `\)` are also Markdown's escaped brackets
# (the citations' `\[1\]`, a title's `\(PDF\)`): LaTeX's are math only when what they hold
# looks like it (an operator not escaped, a command such as `\frac`, or one letter).
_SPANS = re.compile(
    r"(?P<code>```.*?```|~~~.*?~~~|`[^`\n]+`)"
    r"|\$\$(?P<dollars>.+?)\$\$"
    r"|^[ \t]*\\\[(?P<block>.+?)\\\][ \t]*$"
    r"|\\\((?P<inline>[^\n]+?)\\\)",
    re.DOTALL | re.MULTILINE,
)
_MATHY = re.compile(r"(?<!\\)[\^_=+\-*/<>{}]|\\[A-Za-z]{2,}|^\s*[A-Za-z]\s*$")


def _math(match: re.Match[str]) -> str | None:
    """The `$…$` or `$$…$$` Telegram reads for a math span; None: not math."""
    if match.group("dollars") is not None:
        return match.group(0)
    block, inline = match.group("block"), match.group("inline")
    if block is not None and _MATHY.search(block):
        return f"$${block.strip()}$$"
    if inline is not None and _MATHY.search(inline):
        return f"${inline.strip()}$"
    return None


# What any of them needs in the source: a `|` (tables), a `#` or a setext underline
# (headings), `$$`, `\(` or `\[` (math), an indented list marker (nested lists). An answer
# without one is not parsed at all (most answers, and every draft frame of theirs).
_MAYBE = re.compile(
    r"\||^[ \t]{0,3}#|^[ \t]{0,3}(?:=+|-+)[ \t]*$|\$\$|\\[(\[]|^[ \t]+(?:[-*+]|\d+[.)])[ \t]",
    re.MULTILINE,
)
_BLOCK_OPENS = frozenset({
    "paragraph_open", "heading_open", "blockquote_open", "bullet_list_open",
    "ordered_list_open", "list_item_open", "table_open", "tr_open",
})
_BLOCK_LEAVES = frozenset({"fence", "code_block", "hr", "html_block"})


@dataclass(frozen=True, slots=True)
class Shape:
    """What an answer's Markdown holds, as far as rich messages care."""

    rich: bool  # a table, a heading, math or a nested list: a plain message cannot show it
    blocks: int  # blocks as Telegram counts them (list items and table rows included)
    depth: int  # the deepest nesting of blocks
    columns: int  # the widest table

    @property
    def fits(self) -> bool:
        return self.blocks <= MAX_BLOCKS and self.depth <= MAX_DEPTH and (
            self.columns <= MAX_COLUMNS
        )


def shape_of(markdown: str) -> Shape:
    if not _MAYBE.search(markdown):
        return Shape(rich=False, blocks=0, depth=0, columns=0)
    tokens = _PARSER.parse(markdown)
    rich = False
    blocks = depth = columns = 0
    lists = 0  # lists open around the token
    row = 0  # cells in the table row being read
    for token in tokens:
        if token.type in _BLOCK_OPENS or token.type in _BLOCK_LEAVES:
            blocks += 1
            depth = max(depth, token.level + 1)
        kind = token.type
        if kind in ("table_open", "heading_open"):
            rich = True
        elif kind in ("bullet_list_open", "ordered_list_open"):
            rich = rich or lists > 0
            lists += 1
        elif kind in ("bullet_list_close", "ordered_list_close"):
            lists -= 1
        elif kind == "tr_open":
            row = 0
        elif kind in ("th_open", "td_open"):
            row += 1
            columns = max(columns, row)
        elif kind == "inline" and not rich and _has_math(token):
            rich = True
    return Shape(rich, blocks, depth, columns)


def _has_math(token: Token) -> bool:
    # The inline's source (`content`) keeps the backslashes markdown-it reads as escapes.
    return any(_math(match) is not None for match in _SPANS.finditer(token.content))


def needs_rich(markdown: str) -> bool:
    """Whether the answer holds what only a rich message shows (a table, a heading, math, a
    nested list)."""
    return shape_of(markdown).rich


def for_telegram(markdown: str) -> str:
    """The Markdown as Telegram's rich dialect reads math: `$…$` inline and `$$…$$` as a block
    (LaTeX's `\\(…\\)` and `\\[…\\]`, which models write too, are turned into them); the
    rest is CommonMark with GFM tables, which the dialect takes as is."""
    return _SPANS.sub(lambda match: _math(match) or match.group(0), markdown)
