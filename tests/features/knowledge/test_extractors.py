"""PDF, DOCX, PPTX and XLSX files -> blocks (bot/reading/extractors.py), on real files
written by reportlab and python-docx (tests/documents.py)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from bot.features.knowledge.documents import Candidate, parse
from bot.reading.blocks import (
    CorruptDocumentError,
    EncryptedDocumentError,
    MissingExtraError,
    NoTextError,
    UnsupportedDocumentError,
)
from bot.reading.chunking import passages
from bot.reading.extractors import extract
from tests.documents import (
    docx_bytes,
    encrypted_pdf_bytes,
    pdf_bytes,
    scanned_pdf_bytes,
    text_pdf_of,
)

POLICY = [
    [("h1", "Returns"), ("p", "You have 30 days to return an item."),
     ("h2", "Refunds"), ("p", "Refunds reach the card in five days.")],
    [("p", "Cash refunds are paid at the desk."),
     ("h2", "Exchanges"), ("p", "An exchange is free within 14 days.")],
]


@pytest.mark.parametrize("outline", [True, False], ids=["outline", "font sizes"])
def test_pdf_text_per_page_under_its_headings(outline: bool) -> None:
    extracted = extract("policy.pdf", pdf_bytes(POLICY, outline=outline, title="Store policy"))
    assert extracted.title == "Store policy"
    assert extracted.pages == 2
    assert [(b.heading, b.text) for b in extracted.blocks] == [
        (("Returns", "p. 1"), "You have 30 days to return an item."),
        (("Returns", "Refunds", "p. 1"), "Refunds reach the card in five days."),
        # The section goes on over the page break: the heading path stays, the page changes.
        (("Returns", "Refunds", "p. 2"), "Cash refunds are paid at the desk."),
        (("Returns", "Exchanges", "p. 2"), "An exchange is free within 14 days."),
    ]


def test_pdf_placeholder_title_is_not_the_title() -> None:
    # reportlab writes "untitled" when no title is set; the file name stands for it then.
    assert extract("x.pdf", pdf_bytes(POLICY)).title is None
    root = Path("/kb")
    document = parse(Candidate(str(root), "store-policy.pdf", root / "store-policy.pdf"),
                     pdf_bytes(POLICY))
    assert document.title == "Store policy"
    assert passages(document)[0].heading == "Returns > p. 1"


def test_cyrillic_pdf() -> None:
    font = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
    if not font.exists():
        pytest.skip("no DejaVu font to write a Cyrillic PDF with (apt-get install fonts-dejavu)")
    data = pdf_bytes([[("h1", "Возврат"), ("p", "Вернуть товар можно за 30 дней.")]], font=font)
    [block] = extract("v.pdf", data).blocks
    assert (block.heading, block.text) == (("Возврат", "p. 1"), "Вернуть товар можно за 30 дней.")


def test_scanned_encrypted_and_damaged_pdfs_say_why() -> None:
    with pytest.raises(NoTextError, match=r"^no text \(scanned\?\)$"):
        extract("scan.pdf", scanned_pdf_bytes())
    with pytest.raises(EncryptedDocumentError, match=r"^password-protected$"):
        extract("secret.pdf", encrypted_pdf_bytes())
    whole = pdf_bytes(POLICY)
    for damaged in (b"%PDF-1.7\nnot really", whole[: len(whole) // 3], b""):
        with pytest.raises(CorruptDocumentError, match=r"not a readable PDF \(damaged\?\)"):
            extract("broken.pdf", damaged)


def test_a_long_pdf_is_read_page_by_page() -> None:
    extracted = extract("long.pdf", text_pdf_of(50))
    assert extracted.pages == 50
    assert extracted.blocks[-1].heading == ("Section 50", "p. 50")


def test_docx_headings_lists_and_tables_in_body_order() -> None:
    data = docx_bytes(
        [("h1", "Travel"), ("p", "Book trips on the portal."),
         ("h2", "Daily allowance"), ("table", [["City", "Per day"], ["Moscow", "3000 | cash"],
                                               ["Kazan", "2000"]]),
         ("li", "Keep every receipt."), ("h1", "Hotels"), ("p", "Up to 7000 a night.")],
        title="Travel policy",
    )
    extracted = extract("travel.docx", data)
    assert extracted.title == "Travel policy"
    assert [(b.heading, b.text, b.whole) for b in extracted.blocks] == [
        (("Travel",), "Book trips on the portal.", False),
        (("Travel", "Daily allowance"),
         "| City | Per day |\n|---|---|\n| Moscow | 3000 \\| cash |\n| Kazan | 2000 |", True),
        (("Travel", "Daily allowance"), "- Keep every receipt.", False),
        (("Hotels",), "Up to 7000 a night.", False),
    ]


@pytest.mark.slow
def test_a_long_table_is_cut_with_its_header_repeated() -> None:
    rows = [["Code", "Meaning"]] + [[f"E{n:03}", "x" * 40] for n in range(100)]
    blocks = extract("codes.docx", docx_bytes([("table", rows)])).blocks
    assert len(blocks) > 3
    assert all(b.text.startswith("| Code | Meaning |\n|---|---|\n") for b in blocks)
    assert sum(b.text.count("| E") for b in blocks) == 100


def test_damaged_encrypted_and_old_word_files() -> None:
    with pytest.raises(CorruptDocumentError, match=r"not a readable DOCX \(damaged\?\)"):
        extract("x.docx", b"PK\x03\x04 not a zip")
    ole = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100
    with pytest.raises(EncryptedDocumentError):
        extract("x.docx", ole + "EncryptedPackage".encode("utf-16-le"))
    with pytest.raises(CorruptDocumentError, match=r"old Word \.doc"):
        extract("x.docx", ole)
    with pytest.raises(NoTextError):
        extract("x.docx", docx_bytes([]))
    with pytest.raises(UnsupportedDocumentError, match=r"unsupported file type \.odt"):
        extract("x.odt", b"PK")


def test_pptx_and_xlsx_with_the_office_extra(tmp_path: Path) -> None:
    import openpyxl
    import pptx

    deck = pptx.Presentation()
    slide = deck.slides.add_slide(deck.slide_layouts[1])
    slide.shapes.title.text = "Quarterly results"
    slide.placeholders[1].text = "Revenue grew by 12 percent."
    deck.save(tmp_path / "deck.pptx")
    [block] = extract("deck.pptx", (tmp_path / "deck.pptx").read_bytes()).blocks
    assert (block.heading, block.text) == (("Slide 1: Quarterly results",),
                                           "Revenue grew by 12 percent.")
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "Prices"
    for row in (["Item", "Price"], ["Tea", 3], ["Cake", 5]):
        sheet.append(row)
    book.save(tmp_path / "prices.xlsx")
    [block] = extract("prices.xlsx", (tmp_path / "prices.xlsx").read_bytes()).blocks
    assert block.heading == ("Prices",)
    assert block.text == "| Item | Price |\n|---|---|\n| Tea | 3 |\n| Cake | 5 |"


def test_without_the_office_extra_the_install_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    # As if python-pptx and openpyxl were not installed (None in sys.modules fails the import).
    monkeypatch.setitem(sys.modules, "pptx", None)
    monkeypatch.setitem(sys.modules, "openpyxl", None)
    for name in ("deck.pptx", "prices.xlsx"):
        with pytest.raises(MissingExtraError, match=r"pip install 'fmbot\[office\]'"):
            extract(name, b"PK")


@pytest.mark.slow
def test_a_pdf_is_read_only_as_far_as_asked() -> None:
    data = text_pdf_of(30)
    whole = extract("long.pdf", data)
    part = extract("long.pdf", data, max_chars=5_000)
    assert not whole.truncated
    assert part.truncated
    assert part.pages == whole.pages == 30  # the document's size, not what was read
    assert 0 < len(part.blocks) < len(whole.blocks)
    assert part.blocks == whole.blocks[: len(part.blocks)]


def test_text_sent_in_chat_is_plain_text_in_utf8_or_cp1251() -> None:
    from bot.reading.extractors import extract_sent

    table = "name,price\ntea,3\n"
    [block] = extract_sent("prices.csv", table.encode()).blocks  # not the FAQ format: text
    assert block.text == table.strip()
    [block] = extract_sent("заметка.txt", "Пароль от Wi-Fi: кофе2026".encode("cp1251")).blocks
    assert block.text == "Пароль от Wi-Fi: кофе2026"
    with pytest.raises(CorruptDocumentError):
        extract_sent("x.pdf", b"%PDF-1.4 junk")
