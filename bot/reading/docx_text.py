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
from docx.document import Document as DocxDocument
from docx.enum.style import WD_STYLE_TYPE
from docx.oxml.ns import qn
from docx.oxml.table import CT_Tbl
from docx.oxml.xmlchemy import BaseOxmlElement
from docx.table import Table

from bot.reading.blocks import (
    Block,
    CorruptDocumentError,
    EncryptedDocumentError,
    Extracted,
    NoTextError,
    TextBudget,
    cell_text,
    table_blocks,
)

log = logging.getLogger(__name__)
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_ENCRYPTED = "EncryptedPackage".encode("utf-16-le")
# Built-in heading styles by name; Word stores their English names even in other languages,
# but documents made elsewhere may carry translated ones.
_W_T = qn("w:t")
_TEXT_TAGS = (_W_T, qn("w:tab"), qn("w:br"), qn("w:cr"))
_HEADING_STYLE = re.compile(r"^(?:heading|заголовок)\s*(\d)$", re.IGNORECASE)


def extract_docx(data: bytes, max_chars: int | None = None) -> Extracted:
    """`max_chars`: stop once this much text is read (`truncated` says so)."""
    if data.startswith(OLE_MAGIC):
        if _ENCRYPTED in data:
            raise EncryptedDocumentError()
        raise CorruptDocumentError("an old Word .doc file, not .docx (save it as .docx)")
    try:
        document = docx.Document(io.BytesIO(data))
        out = Extracted(title=(document.core_properties.title or "").strip() or None)
        out.blocks = list(_blocks(document, out, max_chars))
    except MemoryError:
        raise
    except Exception as exc:  # untrusted bytes: the parser may fail in any way
        log.info("unreadable DOCX: %r", exc)
        raise CorruptDocumentError("not a readable DOCX (damaged?)") from None
    if not out.blocks:
        raise NoTextError("no text")
    return out


def _style_names(document: DocxDocument) -> tuple[dict[str, str], str]:
    """Paragraph style id -> name, and the default paragraph style's name. Read once:
    python-docx's `Paragraph.style` finds the style by a scan of the styles part on every
    call, which made a DOCX of 20,000 one-letter paragraphs cost a minute of CPU."""
    names: dict[str, str] = {}
    for style in document.styles:
        if style.type == WD_STYLE_TYPE.PARAGRAPH and style.style_id:
            names[style.style_id] = style.name or ""
    default = document.styles.default(WD_STYLE_TYPE.PARAGRAPH)
    return names, (default.name or "") if default is not None else ""


def _blocks(document: DocxDocument, out: Extracted, max_chars: int | None) -> Iterator[Block]:
    names, default = _style_names(document)
    path: list[tuple[int, str]] = []
    budget = TextBudget(max_chars)
    # The body's paragraphs and tables in order (what iter_inner_content wraps), read at the
    # XML level: the paragraph's style id and text are attributes of its element.
    for element in document.element.body.inner_content_elements:
        if budget.exhausted:
            out.truncated = True
            return
        if isinstance(element, CT_Tbl):
            heading = tuple(title for _, title in path)
            for block in table_blocks(heading, _rows(Table(element, document))):
                budget.spend(block.text)
                yield block
            continue
        text = _text(element)
        if not text:
            continue
        budget.spend(text)
        style = names.get(element.style or "", default) if element.style else default
        match = _HEADING_STYLE.match(style)
        if style.lower() == "title":
            out.title = out.title or text
            continue
        if match:
            level = int(match.group(1))
            while path and path[-1][0] >= level:
                path.pop()
            path.append((level, text))
            continue
        if style.lower().startswith("list"):
            text = f"- {text}"
        yield Block(tuple(title for _, title in path), text)


def _text(paragraph: BaseOxmlElement) -> str:
    """A paragraph's words on one line: its runs' text (hyperlinks' and tracked insertions'
    too), tabs and breaks as spaces. One walk in lxml: python-docx's `CT_P.text` runs two
    XPath queries a run (about 65 µs a paragraph)."""
    parts = [node.text or "" if node.tag == _W_T else " " for node in paragraph.iter(*_TEXT_TAGS)]
    return " ".join("".join(parts).split())


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
