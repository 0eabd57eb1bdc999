"""What every reader of a file produces (blocks of text under heading paths) and how it fails.

The knowledge base (documents.py) and documents sent in a chat (bot/features/documents/chat.py)
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
    # The groups that may read it (Markdown front matter `access: [hr, managers]`); empty:
    # the file does not say.
    access: tuple[str, ...] = ()


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


class BusyReaderError(DocumentError):
    """The sender has as many files being read as one user may: this one is not read."""

    def __init__(self, reason: str = "other files of this user are being read") -> None:
        super().__init__(reason)


class TooComplexDocumentError(DocumentError):
    """Reading the file would take more CPU time or memory than a document may use."""

    def __init__(self, reason: str = "too complex to read within the limits") -> None:
        super().__init__(reason)


# What a paragraph costs beyond its characters when a reader counts text against a cap: so a
# file of 200,000 one-letter paragraphs (each costing the parser as much as a long one) is
# cut after about 10,000, not read whole.
PARAGRAPH_CHARS = 20


@dataclass(slots=True)
class TextBudget:
    """About `max_chars` of text to read (None: no cap); `exhausted` once it is spent, and
    then the reader stops and marks what it returns `truncated`."""

    max_chars: int | None
    read: int = 0

    def spend(self, text: str) -> None:
        self.read += len(text) + PARAGRAPH_CHARS

    @property
    def exhausted(self) -> bool:
        return self.max_chars is not None and self.read > self.max_chars


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
