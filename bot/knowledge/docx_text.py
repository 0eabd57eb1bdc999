"""DOCX -> blocks with python-docx: paragraphs under the path of their headings (the built-in
"Heading N" styles, "Title" as the document's title), list items as "- " lines, tables as
Markdown tables, in the order they stand in the body.

A password-protected DOCX is not a ZIP but an OLE container holding "EncryptedPackage"
(MS-OFFCRYPTO); an old binary .doc is an OLE container too.
"""

from __future__ import annotations

import io
import logging
import re
from collections.abc import Iterator

import docx
from docx.table import Table
from docx.text.paragraph import Paragraph

from bot.knowledge.blocks import (
    Block,
    CorruptDocumentError,
    EncryptedDocumentError,
    Extracted,
    NoTextError,
    cell_text,
    table_blocks,
)

log = logging.getLogger(__name__)
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_ENCRYPTED = "EncryptedPackage".encode("utf-16-le")
# Built-in heading styles by name; Word stores their English names even in other languages,
# but documents made elsewhere may carry translated ones.
_HEADING_STYLE = re.compile(r"^(?:heading|заголовок)\s*(\d)$", re.IGNORECASE)


def extract_docx(data: bytes) -> Extracted:
    if data.startswith(OLE_MAGIC):
        if _ENCRYPTED in data:
            raise EncryptedDocumentError()
        raise CorruptDocumentError("an old Word .doc file, not .docx (save it as .docx)")
    try:
        document = docx.Document(io.BytesIO(data))
        out = Extracted(title=(document.core_properties.title or "").strip() or None)
        out.blocks = list(_blocks(document, out))
    except Exception as exc:  # untrusted bytes: the parser may fail in any way
        log.info("unreadable DOCX: %r", exc)
        raise CorruptDocumentError("not a readable DOCX (damaged?)") from None
    if not out.blocks:
        raise NoTextError("no text")
    return out


def _level(paragraph: Paragraph) -> int | None:
    name = paragraph.style.name if paragraph.style is not None else ""
    match = _HEADING_STYLE.match(name or "")
    return int(match.group(1)) if match else None


def _blocks(document: object, out: Extracted) -> Iterator[Block]:
    path: list[tuple[int, str]] = []
    items: list[Paragraph | Table] = list(document.iter_inner_content())  # type: ignore[attr-defined]
    for item in items:
        if isinstance(item, Table):
            heading = tuple(title for _, title in path)
            yield from table_blocks(heading, _rows(item))
            continue
        text = " ".join(item.text.split())
        if not text:
            continue
        style = (item.style.name if item.style is not None else "") or ""
        level = _level(item)
        if style.lower() == "title":
            out.title = out.title or text
            continue
        if level is not None:
            while path and path[-1][0] >= level:
                path.pop()
            path.append((level, text))
            continue
        if style.lower().startswith("list"):
            text = f"- {text}"
        yield Block(tuple(title for _, title in path), text)


def _rows(table: Table) -> list[list[str]]:
    rows = []
    for row in table.rows:
        cells: list[str] = []
        previous = None
        for cell in row.cells:
            # A merged cell comes back once per grid column it spans: keep it once.
            if previous is not None and cell._tc is previous:
                continue
            previous = cell._tc
            cells.append(cell_text(cell.text))
        rows.append(cells)
    return rows
