"""PDF -> blocks with pypdf: the text of each page, under the headings found, each block's
heading path ending in its page ("p. 3") so that answers can say where a fact is.

Headings come from the outline (bookmarks) when the file has one, else from font sizes: lines
set clearly larger than the body text (the size holding most characters) are headings, the
largest size level 1. A heading line is recognised in the page's text by its words. A PDF
without a text layer (a scan) raises NoTextError; a password raises EncryptedDocumentError.

pypdf (BSD-3, pure Python) rather than PyMuPDF (AGPL) or pypdfium2 (a native PDFium build):
see pyproject.toml.
"""

from __future__ import annotations

import io
import logging
import math
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from pypdf import PdfReader

from bot.reading.blocks import (
    Block,
    CorruptDocumentError,
    DocumentError,
    EncryptedDocumentError,
    Extracted,
    NoTextError,
)

log = logging.getLogger(__name__)
# A line this much larger than the body text, and at most HEADING_CHARS long, is a heading.
HEADING_RATIO = 1.15
HEADING_CHARS = 120
MAX_LEVELS = 3
_PLACEHOLDER_TITLES = frozenset({"untitled", "untitled document", "document", "(anonymous)"})


def page_label(number: int) -> str:
    """The last part of a PDF block's heading path: its page, counted from 1."""
    return f"p. {number}"


@dataclass(slots=True)
class _Page:
    text: str
    runs: list[tuple[str, float]] = field(default_factory=list)  # (line, font size)


def extract_pdf(data: bytes, max_chars: int | None = None) -> Extracted:
    """`max_chars`: stop reading pages once this much text is read (a document sent in chat
    keeps only its beginning: a long PDF costs no time for pages that would be dropped)."""
    truncated = False
    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted and not reader.decrypt(""):
            raise EncryptedDocumentError()
        pages: list[_Page] = []
        read = 0
        for page in reader.pages:
            if max_chars is not None and read > max_chars:
                truncated = True
                break
            pages.append(_read_page(page))
            read += len(pages[-1].text)
        count = len(reader.pages)
        outline = _outline_headings(reader)
        title = _meta_title(reader)
    except (DocumentError, MemoryError):
        raise
    except Exception as exc:  # untrusted bytes: the parser may fail in any way
        log.info("unreadable PDF: %r", exc)
        raise CorruptDocumentError("not a readable PDF (damaged?)") from None
    if not any(page.text.strip() for page in pages):
        raise NoTextError()
    headings = outline or _font_headings(pages)
    return Extracted(list(_blocks(pages, headings)), title=title, pages=count,
                     truncated=truncated)


def _read_page(page: Any) -> _Page:
    runs: list[tuple[str, float]] = []

    def visit(text: str, cm: list[float], tm: list[float], font: object, size: float) -> None:
        if text.strip() and size:
            scale = math.hypot(tm[2], tm[3]) * math.hypot(cm[2], cm[3])
            runs.append((text, float(size) * (scale or 1.0)))

    text = page.extract_text(visitor_text=visit) or ""
    return _Page(text, runs)


def _key(text: str) -> str:
    return " ".join(text.split()).casefold()


def _meta_title(reader: PdfReader) -> str | None:
    meta = reader.metadata
    title = " ".join(str(meta.title or "").split()) if meta is not None else ""
    # Writers put placeholders there ("untitled", reportlab's default; "Microsoft Word - x").
    if not title or title.casefold() in _PLACEHOLDER_TITLES or title.startswith("Microsoft "):
        return None
    return title


# Page index -> {heading key: (level, heading as written)}.
Headings = dict[int, dict[str, tuple[int, str]]]


def _outline_headings(reader: PdfReader) -> Headings:
    found: Headings = {}

    def walk(items: list[Any], level: int) -> None:
        for item in items:
            if isinstance(item, list):
                walk(item, level + 1)
                continue
            try:
                page = reader.get_destination_page_number(item)
            except Exception:  # a bookmark pointing nowhere: left out
                continue
            title = str(getattr(item, "title", "") or "")
            if title.strip() and page is not None and page >= 0:
                found.setdefault(page, {})[_key(title)] = (min(level, MAX_LEVELS), title)

    walk(list(reader.outline), 1)
    return found


def _font_headings(pages: list[_Page]) -> Headings:
    sizes: Counter[float] = Counter()
    for page in pages:
        for text, size in page.runs:
            sizes[round(size, 1)] += len(text.strip())
    if not sizes:
        return {}
    body = sizes.most_common(1)[0][0]
    large = sorted({s for s in sizes if s >= body * HEADING_RATIO}, reverse=True)[:MAX_LEVELS]
    found: Headings = {}
    for index, page in enumerate(pages):
        for text, size in page.runs:
            rounded = round(size, 1)
            if rounded in large and 1 < len(text.strip()) <= HEADING_CHARS:
                found.setdefault(index, {})[_key(text)] = (large.index(rounded) + 1, text)
    return found


def _blocks(pages: list[_Page], headings: Headings) -> Iterator[Block]:
    path: list[tuple[int, str]] = []
    for index, page in enumerate(pages):
        here = headings.get(index, {})
        lines = page.text.splitlines()
        keys = {_key(line) for line in lines}
        # An outline entry whose title is not a line of the page starts at the page's top.
        for key, (level, title) in here.items():
            if key not in keys:
                _push(path, level, title)
        paragraph: list[str] = []
        for line in lines:
            heading = here.get(_key(line))
            if heading is not None:
                yield from _flush(path, paragraph, index)
                _push(path, heading[0], line)
            elif not line.strip():
                yield from _flush(path, paragraph, index)
            else:
                paragraph.append(line.rstrip())
        yield from _flush(path, paragraph, index)


def _push(path: list[tuple[int, str]], level: int, title: str) -> None:
    while path and path[-1][0] >= level:
        path.pop()
    path.append((level, " ".join(title.split())))


def _flush(path: list[tuple[int, str]], paragraph: list[str], index: int) -> Iterator[Block]:
    body = "\n".join(paragraph).strip()
    paragraph.clear()
    if body:
        yield Block((*(title for _, title in path), page_label(index + 1)), body)
