"""Model Markdown -> plain text + MessageEntity list (CommonMark + tables + strikethrough).

Our own walk over markdown-it-py's syntax tree rather than telegramify-markdown: that library
silently drops raw HTML (``use <div>`` loses the tag, ``<script>`` vanishes), decorates headings
with emoji, and keeps a process-global config. Raw HTML here is shown as the literal text it is.
"""

from __future__ import annotations

from aiogram.enums import MessageEntityType
from aiogram.types import MessageEntity
from markdown_it.token import Token

from bot.telegram.render.chunks import BlockCache, render_in_blocks
from bot.telegram.render.links import allowed_link, has_scheme, markdown_parser
from bot.telegram.render.partial import close_dangling_markup
from bot.telegram.render.tables import format_table, table_rows
from bot.telegram.render.text import RenderedText, strip_rendered, utf16_len

# Every link is parsed as one (markdown-it would leave `javascript:` as literal text) and
# judged by the output policy (render/links.py): http(s) links are kept, others show their text.
_PARSER = markdown_parser()
_INLINE_ENTITY = {
    "strong": MessageEntityType.BOLD,
    "em": MessageEntityType.ITALIC,
    "s": MessageEntityType.STRIKETHROUGH,
}
_BULLETS = ("•", "◦", "▪")
# Anything that could make a block more than plain paragraphs, conservatively: inline markup
# characters, HTML/autolink/entity openers, NUL (replaced by the parser), and line starts that
# could open a heading, quote, list, setext underline, table or indented code. (Plain `in`
# tests: a regex character class costs ~15 ns per character of the frame.)
_MARKUP_CHARS = tuple("\\`*_~[]<&|\x00")
_BLOCK_STARTS = frozenset("#>+-=:0123456789")
# Whitespace other than space and newline (what str.isspace() accepts; the parser treats tabs,
# CR and Unicode spaces its own way), ASCII first.
_ASCII_SPACES = ("\t", "\r", "\x0b", "\x0c", "\x1c", "\x1d", "\x1e", "\x1f")
OTHER_SPACES = (
    *_ASCII_SPACES,
    *"\x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a",
    *"\u2028\u2029\u202f\u205f\u3000",
)


class _Writer:
    """Accumulates text and entities; block separators are emitted lazily before the next text."""

    def __init__(self) -> None:
        self._chunks: list[str] = []
        self.pos = 0  # UTF-16 length written so far
        self.entities: list[MessageEntity] = []
        self._pending_sep = ""
        self._after_break = True  # nothing but separators / list markers since the last text

    def separate(self, sep: str) -> None:
        if not self._after_break and len(sep) > len(self._pending_sep):
            self._pending_sep = sep

    def _flush(self) -> None:
        if self._pending_sep:
            sep, self._pending_sep = self._pending_sep, ""
            self._chunks.append(sep)
            self.pos += len(sep)
            self._after_break = True

    def write(self, text: str, *, marker: bool = False) -> None:
        """Append text; a list ``marker`` does not ask for a separator before the item's body."""
        if text:
            self._flush()
            self._chunks.append(text)
            self.pos += utf16_len(text)
            self._after_break = marker

    def start(self) -> int:
        self._flush()
        return self.pos

    def entity(
        self,
        kind: MessageEntityType,
        start: int,
        *,
        language: str | None = None,
        url: str | None = None,
    ) -> None:
        if self.pos > start:
            length = self.pos - start
            if language is None and url is None:  # fewer fields: cheaper to validate
                entity = MessageEntity(type=kind.value, offset=start, length=length)
            else:
                entity = MessageEntity(
                    type=kind.value, offset=start, length=length, language=language, url=url
                )
            self.entities.append(entity)

    def result(self) -> RenderedText:
        return strip_rendered("".join(self._chunks), self.entities)

    def raw(self) -> tuple[str, list[MessageEntity]]:
        return "".join(self._chunks), self.entities


def render_markdown(
    markdown: str, *, partial: bool = False, cache: BlockCache | None = None
) -> RenderedText:
    """Render model Markdown to text + entities; never raises on any input.

    ``partial=True`` is for frames of a stream still being generated: a trailing unclosed
    ``**``/``*``/``~~``/backtick is closed and a half-typed link shows its label only, so the
    reader sees formatting instead of raw markers that flicker away a moment later.

    ``cache``: a dict kept by a stream across its frames. The text is then rendered block group
    by block group and only groups not seen in the previous frame are parsed (same result).
    """
    if partial:
        markdown = close_dangling_markup(markdown)
    if cache is not None:
        return render_in_blocks(markdown, cache, _render_raw)
    plain = _plain_paragraphs(markdown)
    if plain is not None:
        return strip_rendered(plain, [])
    writer = _Writer()
    _blocks(_PARSER.parse(markdown), writer)
    return writer.result()


def _plain_paragraphs(markdown: str) -> str | None:
    """What the parser and ``_blocks`` make of text that is only plain paragraphs (lines
    trimmed, joined by "\n", paragraphs by "\n\n"), or None for anything else. Streamed
    frames of prose mostly are this: parsing them cost ~50 µs a frame (bench/bench_outbox.py).
    """
    if any(char in markdown for char in _MARKUP_CHARS):
        return None
    spaces = _ASCII_SPACES if markdown.isascii() else OTHER_SPACES
    if any(char in markdown for char in spaces):
        return None
    paragraphs: list[list[str]] = [[]]
    for line in markdown.split("\n"):
        text = line.lstrip(" ")
        if not text:
            if paragraphs[-1]:
                paragraphs.append([])
        elif len(line) - len(text) > 3 or text[0] in _BLOCK_STARTS:
            return None
        else:
            paragraphs[-1].append(text.rstrip(" "))
    return "\n\n".join("\n".join(lines) for lines in paragraphs if lines)


def _render_raw(markdown: str) -> tuple[str, list[MessageEntity]]:
    plain = _plain_paragraphs(markdown)
    if plain is not None:
        return plain, []
    writer = _Writer()
    _blocks(_PARSER.parse(markdown), writer)
    return writer.raw()


class _Container:
    """An open block container: how its child blocks are separated, and list numbering."""

    __slots__ = ("kind", "number", "ordered", "sep", "start")

    def __init__(self, kind: str, sep: str, start: int = 0, number: int = 1) -> None:
        self.kind = kind
        self.sep = sep
        self.start = start
        self.ordered = kind == "ordered_list"
        self.number = number


def _blocks(tokens: list[Token], w: _Writer) -> None:
    stack = [_Container("root", "\n\n")]
    lists = 0  # list nesting depth, for indentation and bullets
    quotes = 0
    index = 0
    while index < len(tokens):
        token = tokens[index]
        kind = token.type
        index += 1
        if token.nesting == -1:
            if kind == "heading_close":
                w.entity(MessageEntityType.BOLD, stack.pop().start)
            elif kind in ("blockquote_close", "bullet_list_close", "ordered_list_close"):
                container = stack.pop()
                if kind == "blockquote_close":
                    quotes -= 1
                    if quotes == 0:  # Telegram does not nest blockquotes
                        w.entity(MessageEntityType.BLOCKQUOTE, container.start)
                else:
                    lists -= 1
            elif kind == "list_item_close":
                stack.pop()
            continue
        if kind == "list_item_open":
            parent = stack[-1]
            w.separate("\n")
            if parent.ordered:
                marker = f"{parent.number}. "
                parent.number += 1
            else:
                marker = _BULLETS[min(lists - 1, len(_BULLETS) - 1)] + " "
            w.write("   " * (lists - 1) + marker, marker=True)
            stack.append(_Container("item", "\n"))
            continue
        if kind == "paragraph_open":
            w.separate(stack[-1].sep)
            continue
        if kind == "inline":
            _inlines(token.children or [], w)
            continue
        w.separate(stack[-1].sep)
        if kind == "heading_open":
            stack.append(_Container("heading", "", w.start()))
        elif kind == "blockquote_open":
            quotes += 1
            stack.append(_Container("quote", "\n\n", w.start()))
        elif kind in ("bullet_list_open", "ordered_list_open"):
            lists += 1
            number = int(token.attrs.get("start", 1) or 1)
            stack.append(_Container(kind.removesuffix("_open"), "\n", number=number))
        elif kind in ("fence", "code_block"):
            start = w.start()
            w.write(token.content.removesuffix("\n"))
            language = token.info.split()[0] if token.info.strip() else None
            w.entity(MessageEntityType.PRE, start, language=language)
        elif kind == "table_open":
            rows, aligns, header_rows, index = table_rows(tokens, index - 1, _plain_inline)
            start = w.start()
            w.write(format_table(rows, aligns, header_rows))
            w.entity(MessageEntityType.PRE, start)
        elif kind == "hr":
            w.write("⸻")
        else:  # html is off; anything unknown is shown as its source text
            w.write(token.content)


def _inlines(tokens: list[Token], w: _Writer) -> None:
    opened: list[tuple[Token, int]] = []
    for token in tokens:
        kind = token.type
        if kind == "text":
            w.write(token.content)
        elif kind in ("softbreak", "hardbreak"):
            w.write("\n")
        elif kind == "code_inline":
            start = w.start()
            w.write(token.content)
            w.entity(MessageEntityType.CODE, start)
        elif kind in ("strong_open", "em_open", "s_open", "link_open"):
            opened.append((token, w.start()))
        elif kind in ("strong_close", "em_close", "s_close") and opened:
            opener, start = opened.pop()
            w.entity(_INLINE_ENTITY[opener.type.removesuffix("_open")], start)
        elif kind == "link_close" and opened:
            opener, start = opened.pop()
            _close_link(str(opener.attrs.get("href", "")), opener.markup == "autolink", start, w)
        elif kind == "image":
            # Dropped (render/links.py): its alt text stays, its URL goes nowhere.
            w.write(_plain_inline(token))
        else:
            w.write(token.content)


def _close_link(url: str, autolink: bool, start: int, w: _Writer) -> None:
    if autolink:
        return  # Telegram links bare URLs by itself
    if allowed_link(url):
        if w.pos == start:
            w.write(url)
        w.entity(MessageEntityType.TEXT_LINK, start, url=url)
    elif url and not has_scheme(url):
        w.write(f" ({url})")  # a relative path: not a link, shown where it pointed
    # Any other scheme (tg:, javascript:): the link's text alone, the URL goes nowhere.


def _plain_inline(token: Token) -> str:
    scratch = _Writer()
    _inlines(token.children or [], scratch)
    return scratch.result().text
