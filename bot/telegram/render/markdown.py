"""Model Markdown -> plain text + MessageEntity list (CommonMark + tables + strikethrough).

Our own walk over markdown-it-py's syntax tree rather than telegramify-markdown: that library
silently drops raw HTML (``use <div>`` loses the tag, ``<script>`` vanishes), decorates headings
with emoji, and keeps a process-global config. Raw HTML here is shown as the literal text it is.
"""

from __future__ import annotations

from dataclasses import dataclass

from aiogram.enums import MessageEntityType
from aiogram.types import MessageEntity
from markdown_it import MarkdownIt
from markdown_it.tree import SyntaxTreeNode

from bot.telegram.render.partial import close_dangling_markup
from bot.telegram.render.tables import render_table
from bot.telegram.render.text import RenderedText, clip_entities, utf16_len

_PARSER = MarkdownIt("commonmark", {"html": False}).enable(["table", "strikethrough"])
# Telegram turns these into clickable links; anything else (relative paths, ftp:) stays text.
_LINK_SCHEMES = ("http://", "https://", "tg://")
_INLINE_ENTITY = {
    "strong": MessageEntityType.BOLD,
    "em": MessageEntityType.ITALIC,
    "s": MessageEntityType.STRIKETHROUGH,
}
_BULLETS = ("•", "◦", "▪")


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
            self.entities.append(
                MessageEntity(type=kind, offset=start, length=length, language=language, url=url)
            )

    def result(self) -> RenderedText:
        text = "".join(self._chunks)
        stripped = text.rstrip()
        lead = len(stripped) - len(stripped.lstrip())
        stripped = stripped.lstrip()
        start = utf16_len(text[:lead])
        end = start + utf16_len(stripped)
        entities = clip_entities(self.entities, start, end)
        entities.sort(key=lambda e: (e.offset, -e.length))
        return RenderedText(text=stripped, entities=entities)


@dataclass
class _Context:
    list_depth: int = 0
    in_quote: bool = False


def render_markdown(markdown: str, *, partial: bool = False) -> RenderedText:
    """Render model Markdown to text + entities; never raises on any input.

    ``partial=True`` is for frames of a stream still being generated: a trailing unclosed
    ``**``/``*``/``~~``/backtick is closed and a half-typed link shows its label only, so the
    reader sees formatting instead of raw markers that flicker away a moment later.
    """
    if partial:
        markdown = close_dangling_markup(markdown)
    writer = _Writer()
    root = SyntaxTreeNode(_PARSER.parse(markdown))
    _blocks(root.children, writer, _Context(), "\n\n")
    return writer.result()


def _blocks(nodes: list[SyntaxTreeNode], w: _Writer, ctx: _Context, sep: str) -> None:
    for node in nodes:
        w.separate(sep)
        _block(node, w, ctx)


def _block(node: SyntaxTreeNode, w: _Writer, ctx: _Context) -> None:
    kind = node.type
    if kind in ("paragraph", "inline"):
        _inlines(node.children if kind == "paragraph" else [node], w)
    elif kind == "heading":
        start = w.start()
        _inlines(node.children, w)
        w.entity(MessageEntityType.BOLD, start)
    elif kind in ("fence", "code_block"):
        start = w.start()
        w.write(node.content.removesuffix("\n"))
        language = node.info.split()[0] if node.info.strip() else None
        w.entity(MessageEntityType.PRE, start, language=language)
    elif kind == "blockquote":
        start = w.start()
        outer = not ctx.in_quote
        _blocks(node.children, w, _Context(ctx.list_depth, in_quote=True), "\n\n")
        if outer:  # Telegram does not nest blockquotes
            w.entity(MessageEntityType.BLOCKQUOTE, start)
    elif kind in ("bullet_list", "ordered_list"):
        _list(node, w, ctx)
    elif kind == "table":
        start = w.start()
        w.write(render_table(node, _plain_inline))
        w.entity(MessageEntityType.PRE, start)
    elif kind == "hr":
        w.write("⸻")
    else:  # html_block is off; anything unknown is shown as its source text
        w.write(node.content)


def _list(node: SyntaxTreeNode, w: _Writer, ctx: _Context) -> None:
    indent = "   " * ctx.list_depth
    number = int(node.attrs.get("start", 1) or 1)
    inner = _Context(ctx.list_depth + 1, ctx.in_quote)
    for item in node.children:
        w.separate("\n")
        if node.type == "ordered_list":
            marker = f"{number}. "
            number += 1
        else:
            marker = _BULLETS[min(ctx.list_depth, len(_BULLETS) - 1)] + " "
        w.write(indent + marker, marker=True)
        _blocks(item.children, w, inner, "\n")


def _inlines(nodes: list[SyntaxTreeNode], w: _Writer) -> None:
    for node in nodes:
        kind = node.type
        if kind == "inline":
            _inlines(node.children, w)
        elif kind == "text":
            w.write(node.content)
        elif kind in ("softbreak", "hardbreak"):
            w.write("\n")
        elif kind == "code_inline":
            start = w.start()
            w.write(node.content)
            w.entity(MessageEntityType.CODE, start)
        elif kind in _INLINE_ENTITY:
            start = w.start()
            _inlines(node.children, w)
            w.entity(_INLINE_ENTITY[kind], start)
        elif kind in ("link", "image"):
            _link(node, w)
        else:
            w.write(node.content)


def _link(node: SyntaxTreeNode, w: _Writer) -> None:
    url = str(node.attrs.get("href" if node.type == "link" else "src", ""))
    label = _plain_inline(node)
    if node.type == "image" and not label:
        label = "image"
    if node.markup == "autolink" or label == url:
        w.write(label)  # Telegram links bare URLs by itself
        return
    if url.startswith(_LINK_SCHEMES):
        start = w.start()
        _link_label(node, label, w)
        if w.pos == start:
            w.write(url)
        w.entity(MessageEntityType.TEXT_LINK, start, url=url)
    else:
        _link_label(node, label, w)
        if url:
            w.write(f" ({url})")


def _link_label(node: SyntaxTreeNode, label: str, w: _Writer) -> None:
    if node.type == "link":
        _inlines(node.children, w)
    else:
        w.write(label)


def _plain_inline(node: SyntaxTreeNode) -> str:
    scratch = _Writer()
    _inlines(node.children, scratch)
    return scratch.result().text
