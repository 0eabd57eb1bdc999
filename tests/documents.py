"""Real PDF and DOCX files for tests, written by reportlab (BSD) and python-docx (MIT).

A page or a document is a list of (kind, content): "h1", "h2", "h3" headings, "p" paragraphs,
"li" list items and, in DOCX, "table" (a list of rows). PDF text uses the standard Helvetica
(Latin only) unless a TrueType `font` is given (Cyrillic needs one).
"""

from __future__ import annotations

import io
import textwrap
from collections.abc import Sequence
from pathlib import Path
from typing import Any

Item = tuple[str, Any]
SIZES = {"h1": 18.0, "h2": 15.0, "h3": 13.0, "p": 11.0, "li": 11.0}


def pdf_bytes(
    pages: Sequence[Sequence[Item]],
    *,
    outline: bool = False,
    font: Path | None = None,
    title: str | None = None,
) -> bytes:
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont
    from reportlab.pdfgen import canvas

    name = "Helvetica"
    if font is not None:
        name = font.stem
        pdfmetrics.registerFont(TTFont(name, str(font)))
    out = io.BytesIO()
    pdf = canvas.Canvas(out, pagesize=A4, invariant=True)
    if title:
        pdf.setTitle(title)
    height = A4[1]
    marks = 0
    for page in pages:
        y = height - 60
        for kind, content in page:
            size = SIZES[kind]
            if kind.startswith("h") and outline:
                marks += 1
                pdf.bookmarkHorizontal(f"m{marks}", 0, y + size)
                pdf.addOutlineEntry(str(content), f"m{marks}", level=int(kind[1]) - 1)
            pdf.setFont(name, size)
            text = f"- {content}" if kind == "li" else str(content)
            for line in textwrap.wrap(text, 85 if size < 12 else 60) or [""]:
                pdf.drawString(50, y, line)
                y -= size * 1.4
            y -= size * 0.6
        pdf.showPage()
    pdf.save()
    return out.getvalue()


def scanned_pdf_bytes(pages: int = 2) -> bytes:
    """Pages with pictures (rectangles) and no text layer, like a scan."""
    from reportlab.pdfgen import canvas

    out = io.BytesIO()
    pdf = canvas.Canvas(out, invariant=True)
    for _ in range(pages):
        pdf.rect(50, 50, 400, 600, fill=1)
        pdf.showPage()
    pdf.save()
    return out.getvalue()


def encrypted_pdf_bytes(password: str = "secret") -> bytes:
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(pdf_bytes([[("p", "Secret plan.")]]))))
    writer.encrypt(password, algorithm="AES-128")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def docx_bytes(items: Sequence[Item], *, title: str | None = None) -> bytes:
    import docx

    document = docx.Document()
    if title:
        document.core_properties.title = title
    for kind, content in items:
        if kind in ("h1", "h2", "h3"):
            document.add_heading(str(content), level=int(kind[1]))
        elif kind == "li":
            document.add_paragraph(str(content), style="List Bullet")
        elif kind == "table":
            rows = list(content)
            table = document.add_table(rows=len(rows), cols=len(rows[0]))
            for r, row in enumerate(rows):
                for c, value in enumerate(row):
                    table.cell(r, c).text = str(value)
        else:
            document.add_paragraph(str(content))
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def text_pdf_of(pages: int, words_per_page: int = 350) -> bytes:
    """A long text PDF (the extraction benchmark's and the budget tests' input)."""
    vocabulary = [
        "invoice", "payment", "delivery", "refund", "warranty", "account", "order", "parcel",
        "courier", "customer", "address", "receipt", "discount", "tracking", "return",
    ]
    body = []
    for number in range(pages):
        words = [vocabulary[(number * 7 + i) % len(vocabulary)] for i in range(words_per_page)]
        text = " ".join(words)
        body.append([("h2", f"Section {number + 1}"),
                     *(("p", text[i:i + 600] + ".") for i in range(0, len(text), 600))])
    return pdf_bytes(body)
