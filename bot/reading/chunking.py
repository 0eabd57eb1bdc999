"""Documents -> passages of a few hundred tokens, cut on headings and paragraphs.

Paragraphs under one heading path are joined until a passage would pass `max_chars` (about
300 tokens of Russian or English); a paragraph longer than that is cut between sentences. A
FAQ pair is one passage whatever its size. Every passage keeps its heading path, which is also
embedded and indexed with it, so "Returns > Refund times" helps find the text below it.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Protocol

from bot.grounding.sources import label
from bot.reading.blocks import Block


class HasBlocks(Protocol):
    """A document as read: its blocks (the knowledge base's `Document`)."""

    @property
    def blocks(self) -> list[Block]: ...

MAX_CHARS = 1200
_SENTENCE_END = re.compile(r"(?<=[.!?…])\s+")


@dataclass(frozen=True, slots=True)
class Passage:
    ordinal: int
    heading: str  # "Returns > Refund times"
    text: str
    # A FAQ pair's own title (its question) and url, shown in its citation instead of the
    # document's; what is embedded keeps the document's title (so the cache key is stable).
    title: str | None = None
    url: str | None = None

    def embedded_text(self, title: str) -> str:
        """What is embedded and indexed: the document title, the heading path and the text."""
        head = label(title, self.heading)
        return f"{head}\n{self.text}" if head else self.text

    def content_hash(self, title: str) -> str:
        return hashlib.sha256(self.embedded_text(title).encode("utf-8")).hexdigest()


def passages(document: HasBlocks, max_chars: int = MAX_CHARS) -> list[Passage]:
    return block_passages(document.blocks, max_chars)


def block_passages(blocks: list[Block], max_chars: int = MAX_CHARS) -> list[Passage]:
    """Passages of any reader's blocks (a document sent in chat has no Document)."""
    out: list[Passage] = []
    for heading, text, own in _pieces(blocks, max_chars):
        title, url = (own.title, own.url) if own is not None else (None, None)
        out.append(Passage(len(out), heading, text, title, url))
    return out


def _pieces(
    blocks: list[Block], max_chars: int
) -> Iterator[tuple[str, str, Block | None]]:
    """(heading path, text, the whole block it is when it is one) of each passage."""
    current: list[str] = []
    size = 0
    heading: tuple[str, ...] | None = None
    for block in blocks:
        if block.whole or block.heading != heading or size + len(block.text) > max_chars:
            if current:
                yield " > ".join(heading or ()), "\n\n".join(current), None
            current, size = [], 0
        heading = block.heading
        if block.whole:
            yield " > ".join(block.heading), block.text, block
            heading = None
            continue
        for part in _split_long(block.text, max_chars):
            if current and size + len(part) > max_chars:
                yield " > ".join(heading), "\n\n".join(current), None
                current, size = [], 0
            current.append(part)
            size += len(part) + 2
    if current:
        yield " > ".join(heading or ()), "\n\n".join(current), None


def _split_long(text: str, max_chars: int) -> Iterator[str]:
    if len(text) <= max_chars:
        yield text
        return
    piece = ""
    for sentence in _SENTENCE_END.split(text):
        while len(sentence) > max_chars:  # one huge "sentence": cut it on a space
            cut = sentence.rfind(" ", 0, max_chars)
            cut = cut if cut > 0 else max_chars
            if piece:
                yield piece
                piece = ""
            yield sentence[:cut]
            sentence = sentence[cut:].lstrip()
        if piece and len(piece) + 1 + len(sentence) > max_chars:
            yield piece
            piece = ""
        piece = f"{piece} {sentence}" if piece else sentence
    if piece:
        yield piece
