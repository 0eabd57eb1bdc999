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


def _with_paragraphs(data: bytes, part: str, tag: str, paragraph: str, count: int) -> bytes:
    """The Office file `data` with the paragraph (`tag`) holding BOMB in `part` replaced by
    `count` copies of `paragraph`: a valid file whose XML has that many paragraphs."""
    import re
    import zipfile

    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            content = source.read(info.filename)
            if info.filename == part:
                pattern = rf"<{tag}(?:\s[^>]*)?>(?:(?!</{tag}>).)*BOMB.*?</{tag}>".encode()
                content = re.sub(pattern, lambda _: paragraph.encode() * count, content,
                                 count=1, flags=re.DOTALL)
                assert content.count(paragraph.encode()) == count
            target.writestr(info, content)
    return out.getvalue()


def paragraphs_docx(count: int) -> bytes:
    """A valid DOCX (made by python-docx, with its styles) of `count` one-letter paragraphs:
    about 38 KB for 20,000. python-docx once spent a minute of CPU on it."""
    return _with_paragraphs(docx_bytes([("p", "BOMB")]), "word/document.xml", "w:p",
                            "<w:p><w:r><w:t>a</w:t></w:r></w:p>", count)


def paragraphs_pptx(count: int) -> bytes:
    """A valid PPTX of one slide whose text box holds `count` one-letter paragraphs."""
    import pptx
    from pptx.util import Inches

    presentation = pptx.Presentation()
    slide = presentation.slides.add_slide(presentation.slide_layouts[6])
    box = slide.shapes.add_textbox(Inches(1), Inches(1), Inches(4), Inches(1))
    box.text_frame.text = "BOMB"
    out = io.BytesIO()
    presentation.save(out)
    return _with_paragraphs(out.getvalue(), "ppt/slides/slide1.xml", "a:p",
                            "<a:p><a:r><a:t>a</a:t></a:r></a:p>", count)


def lines_pdf(count: int) -> bytes:
    """A valid one-page PDF whose content stream shows `count` one-letter lines."""
    stream = b"BT /F1 10 Tf 12 TL 72 720 Td\n" + b"(a) Tj T*\n" * count + b"ET"
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
        b"/Resources << /Font << /F1 5 0 R >> >> /Contents 4 0 R >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n" % number + body + b"\nendobj\n")
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
    for offset in offsets:
        out.write(b"%010d 00000 n \n" % offset)
    out.write(b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n"
              % (len(objects) + 1, xref))
    return out.getvalue()
