"""PPTX and XLSX -> blocks, with python-pptx and openpyxl from the `office` extra (imported
here only, when such a file is read): a slide's title heads its text and tables; a sheet is a
Markdown table under the sheet's name."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator
from typing import Any

from bot.reading.blocks import (
    Block,
    CorruptDocumentError,
    Extracted,
    MissingExtraError,
    NoTextError,
    TextBudget,
    cell_text,
    table_blocks,
)

log = logging.getLogger(__name__)
INSTALL = "pip install 'fmbot[office]'"
MAX_ROWS = 10_000  # of a sheet: a knowledge base is not a data warehouse


def extract_pptx(data: bytes, max_chars: int | None = None) -> Extracted:
    try:
        import pptx
    except ImportError:
        raise MissingExtraError(f"PowerPoint files need the office extra: {INSTALL}") from None
    budget = TextBudget(max_chars)
    try:
        presentation = pptx.Presentation(io.BytesIO(data))
        blocks = list(_slides(presentation, budget))
    except MemoryError:
        raise
    except Exception as exc:  # untrusted bytes: the parser may fail in any way
        log.info("unreadable PPTX: %r", exc)
        raise CorruptDocumentError("not a readable PPTX (damaged?)") from None
    if not blocks:
        raise NoTextError("no text")
    return Extracted(blocks, pages=len(presentation.slides), truncated=budget.exhausted)


def _slides(presentation: Any, budget: TextBudget) -> Iterator[Block]:
    for number, slide in enumerate(presentation.slides, start=1):
        title_shape = slide.shapes.title
        title = " ".join(title_shape.text_frame.text.split()) if title_shape is not None else ""
        heading = (f"Slide {number}: {title}" if title else f"Slide {number}",)
        for shape in slide.shapes:
            if budget.exhausted:
                return
            if title_shape is not None and shape.shape_id == title_shape.shape_id:
                continue
            if getattr(shape, "has_table", False) and shape.has_table:
                rows = [[cell_text(cell.text) for cell in row.cells] for row in shape.table.rows]
                for block in table_blocks(heading, rows):
                    budget.spend(block.text)
                    yield block
            elif getattr(shape, "has_text_frame", False) and shape.has_text_frame:
                lines = []
                for paragraph in shape.text_frame.paragraphs:
                    if budget.exhausted:
                        break
                    line = " ".join(paragraph.text.split())
                    if line:
                        budget.spend(line)
                        lines.append(line)
                if lines:
                    yield Block(heading, "\n".join(lines))
        if slide.has_notes_slide and not budget.exhausted:
            notes = slide.notes_slide.notes_text_frame.text.strip()
            if notes:
                budget.spend(notes)
                yield Block(heading, notes)


def extract_xlsx(data: bytes, max_chars: int | None = None) -> Extracted:
    try:
        import openpyxl
    except ImportError:
        raise MissingExtraError(f"Excel files need the office extra: {INSTALL}") from None
    budget = TextBudget(max_chars)
    try:
        workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        blocks: list[Block] = []
        for sheet in workbook.worksheets:
            if budget.exhausted:
                break
            rows = []
            for row in sheet.iter_rows(max_row=MAX_ROWS, values_only=True):
                if budget.exhausted:
                    break
                cells = [cell_text(value) for value in row]
                budget.spend(" | ".join(cells))
                rows.append(cells)
            blocks.extend(table_blocks((sheet.title,), rows))
        workbook.close()
    except MemoryError:
        raise
    except Exception as exc:  # untrusted bytes: the parser may fail in any way
        log.info("unreadable XLSX: %r", exc)
        raise CorruptDocumentError("not a readable XLSX (damaged?)") from None
    if not blocks:
        raise NoTextError("no text")
    return Extracted(blocks, truncated=budget.exhausted)
