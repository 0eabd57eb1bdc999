"""What every reader of a file produces (blocks of text under heading paths) and how it fails.

The knowledge base (documents.py) and documents sent in a chat (bot/conversation/documents.py)
read files with the same extractors (extractors.py); both get an `Extracted` or one of the
errors below, whose message is a short reason fit for `kb sync` ("no text (scanned?)").
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

# A table is cut into blocks of about this many characters, each with the header row again.
TABLE_CHARS = 1000


@dataclass(frozen=True, slots=True)
class Block:
    heading: tuple[str, ...]
    text: str
    whole: bool = False  # a FAQ pair or a piece of a table: one passage as it is
    # A FAQ pair is its own source: its question is the title shown, its `url` the link
    # (None: the document's title and url).
    title: str | None = None
    url: str | None = None


@dataclass(slots=True)
class Extracted:
    """A file's text: its blocks in reading order, a title and a URL when the file says them,
    and its page count (PDF) for the user's "read 12 pages"."""

    blocks: list[Block] = field(default_factory=list)
    title: str | None = None
    url: str | None = None
    pages: int | None = None
    truncated: bool = False  # read only up to the caller's `max_chars`


class DocumentError(Exception):
    """The file cannot be used; the message says why."""


class NoTextError(DocumentError):
    """The file holds no text layer (a scanned PDF, pictures only)."""

    def __init__(self, reason: str = "no text (scanned?)") -> None:
        super().__init__(reason)


class EncryptedDocumentError(DocumentError):
    """The file needs a password."""

    def __init__(self, reason: str = "password-protected") -> None:
        super().__init__(reason)


class CorruptDocumentError(DocumentError):
    """The bytes are not a readable file of the type its name says."""


class UnsupportedDocumentError(DocumentError):
    """A type no extractor reads."""


class MissingExtraError(DocumentError):
    """The type is read by an optional extra that is not installed."""


def cell_text(value: object) -> str:
    """A table cell on one line, safe inside a Markdown table."""
    text = "" if value is None else str(value)
    return " ".join(text.split()).replace("|", "\\|")


def table_blocks(heading: tuple[str, ...], rows: Sequence[Sequence[str]]) -> Iterator[Block]:
    """A table as Markdown tables of about TABLE_CHARS each, the first row as every piece's
    header, so each passage can be read alone."""
    kept = [list(row) for row in rows if any(cell.strip() for cell in row)]
    if not kept:
        return
    width = max(len(row) for row in kept)
    rows = [row + [""] * (width - len(row)) for row in kept]
    header = "| " + " | ".join(rows[0]) + " |\n|" + "---|" * width
    if len(rows) == 1:
        yield Block(heading, header, whole=True)
        return
    piece: list[str] = []
    size = len(header)
    for row in rows[1:]:
        line = "| " + " | ".join(row) + " |"
        if piece and size + len(line) > TABLE_CHARS:
            yield Block(heading, "\n".join([header, *piece]), whole=True)
            piece, size = [], len(header)
        piece.append(line)
        size += len(line) + 1
    yield Block(heading, "\n".join([header, *piece]), whole=True)
