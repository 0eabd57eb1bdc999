"""Incremental rendering for streams: cut Markdown into independent top-level block groups.

Frames of a stream grow at the end, so all groups but the last are usually unchanged since the
previous frame; their rendering is reused from the stream's cache and only the tail is parsed.
A cut is made only at a blank line outside code fences whose next line starts a block at
column 0 that cannot continue the previous one (not indented, not a list item, which could
join a loose list). Link reference definitions can act across blocks: then no cutting at all.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from aiogram.types import MessageEntity

from bot.telegram.render.text import RenderedText, strip_rendered, utf16_len


class _Group:
    """One rendered block group; ``shifted`` keeps its entities at the last offset used."""

    __slots__ = ("entities", "offset", "shifted", "text")

    def __init__(self, text: str, entities: list[MessageEntity]) -> None:
        self.text = text
        self.entities = entities
        self.offset = 0
        self.shifted = entities

    def at(self, offset: int) -> list[MessageEntity]:
        if offset != self.offset:
            self.offset = offset
            self.shifted = [
                e.model_copy(update={"offset": e.offset + offset}) for e in self.entities
            ]
        return self.shifted


BlockCache = dict[str, _Group]
_FENCE = re.compile(r" {0,3}(`{3,}|~{3,})")
_LIST_ITEM = re.compile(r"([-+*]|\d{1,9}[.)])(\s|$)")
_REFERENCE = re.compile(r"^ {0,3}\[[^\]]+\]:", re.MULTILINE)
# A list item with nothing after its marker: how the next block joins it is the renderer's
# business (an empty bullet and a paragraph may be rendered on one line), so no cut after it.
_BARE_ITEM = re.compile(r" {0,3}([-+*]|\d{1,9}[.)])\s*")
# Likewise an empty block quote ("1\n>\n\n1"): rendered alone it leaves blank lines that the
# whole text's rendering does not have.
_BARE_QUOTE = re.compile(r" {0,3}>[\s>]*")


def split_blocks(markdown: str) -> list[str]:
    if "]:" in markdown and _REFERENCE.search(markdown):  # `in` first: the regex is slow
        return [markdown]
    lines = markdown.split("\n")
    groups: list[str] = []
    start = 0
    fence = ""
    blank_before = False
    previous = ""  # the last non-blank line outside fences
    for index, line in enumerate(lines):
        match = _FENCE.match(line)
        if fence:
            run = match.group(1) if match else ""
            if run[:1] == fence[0] and len(run) >= len(fence) and not line.strip(" `~"):
                fence = ""
            continue
        if not line.strip():
            blank_before = True
            continue
        if (
            blank_before
            and index > start
            and not line[0].isspace()
            and not _LIST_ITEM.match(line)
            and not _BARE_ITEM.fullmatch(previous)
            and not _BARE_QUOTE.fullmatch(previous)
        ):
            groups.append("\n".join(lines[start:index]))
            start = index
        blank_before = False
        previous = line
        if match:
            fence = match.group(1)
    groups.append("\n".join(lines[start:]))
    return groups


def render_in_blocks(
    markdown: str,
    cache: BlockCache,
    render_raw: Callable[[str], tuple[str, list[MessageEntity]]],
) -> RenderedText:
    """Render group by group, joined the way top-level blocks are ("\\n\\n"); fills ``cache``
    with exactly the groups of this text (entries of older frames are dropped)."""
    texts: list[str] = []
    entities: list[MessageEntity] = []
    offset = 0
    used: BlockCache = {}
    for source in split_blocks(markdown):
        group = cache.get(source) or used.get(source)
        if group is None:
            group = _Group(*render_raw(source))
        used[source] = group
        if not group.text:
            continue
        if texts:
            texts.append("\n\n")
            offset += 2
        texts.append(group.text)
        entities.extend(group.at(offset))
        offset += utf16_len(group.text)
    cache.clear()
    cache.update(used)
    return strip_rendered("".join(texts), entities)
