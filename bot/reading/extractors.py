"""A file's bytes -> its text as blocks, by type: the one reader used by the knowledge base
(KB_PATH) and by documents sent in a chat.

PDF (pypdf) and DOCX (python-docx) are always read; PPTX and XLSX need the `office` extra
(MissingExtraError names the pip install); text types are read by text_formats.py. Parsers
of binary formats are imported on first use: a bot that never reads a PDF never loads them.
"""

from __future__ import annotations

import codecs

from bot.reading.blocks import DocumentError, Extracted, UnsupportedDocumentError
from bot.reading.text_formats import NOT_UTF8, TEXT_SUFFIXES, extract_text_file

BINARY_SUFFIXES = frozenset({".pdf", ".docx", ".pptx", ".xlsx"})
SUFFIXES = TEXT_SUFFIXES | BINARY_SUFFIXES
# A file sent in chat with one of these is read as plain text (a CSV sent in chat is a table to
# ask about, not the knowledge base's FAQ format).
PLAIN_SUFFIXES = frozenset({".txt", ".csv", ".log", ".json", ".jsonl", ".xml", ".yaml", ".yml"})
CHAT_SUFFIXES = BINARY_SUFFIXES | PLAIN_SUFFIXES | {".md", ".markdown", ".html", ".htm"}


# The module holding a binary format's reader, by suffix: imported (pypdf alone takes most of
# a second) before a read's limits are set, so that a limit counts the reading, never a first
# import (reading_worker.py).
READER_MODULES = {
    ".pdf": "bot.reading.pdf_text",
    ".docx": "bot.reading.docx_text",
    ".pptx": "bot.reading.office_text",
    ".xlsx": "bot.reading.office_text",
}


def suffix_of(name: str) -> str:
    """".pdf" for "Report.PDF"; "" without one."""
    base = name.rsplit("/", 1)[-1]
    return "." + base.rsplit(".", 1)[-1].lower() if "." in base else ""


def extract(name: str, data: bytes, *, max_chars: int | None = None) -> Extracted:
    """The text of the file `name` (only its suffix counts) holding `data`; a DocumentError
    subclass says why there is none. CPU-bound and unbounded on hostile input: call it through
    reading.DocumentReader, which runs it in a worker process with CPU and memory limits.
    `max_chars`: about this much text is read, whatever the format (`truncated` says so)."""
    suffix = suffix_of(name)
    if suffix == ".pdf":
        from bot.reading.pdf_text import extract_pdf

        return extract_pdf(data, max_chars)
    if suffix == ".docx":
        from bot.reading.docx_text import extract_docx

        return extract_docx(data, max_chars)
    if suffix in (".pptx", ".xlsx"):
        from bot.reading.office_text import extract_pptx, extract_xlsx

        read = extract_pptx if suffix == ".pptx" else extract_xlsx
        return read(data, max_chars)
    if suffix in TEXT_SUFFIXES:
        return _text_file(suffix, data, max_chars)
    raise UnsupportedDocumentError(f"unsupported file type {suffix or '(none)'}")


def extract_sent(name: str, data: bytes, max_chars: int | None = None) -> Extracted:
    """A file sent in chat: like `extract`, but every plain-text type read as plain text."""
    if suffix_of(name) in PLAIN_SUFFIXES:
        try:
            return _text_file(".txt", data, max_chars)
        except DocumentError as exc:
            if str(exc) != NOT_UTF8:
                raise
            # Russian text files saved on Windows are often CP1251; a user's file is read in
            # it rather than refused (the knowledge base asks for UTF-8 and says so).
            text = data.decode("cp1251", "replace").encode()
            return _text_file(".txt", text, max_chars)
    return extract(name, data, max_chars=max_chars)


def _text_file(suffix: str, data: bytes, max_chars: int | None) -> Extracted:
    kept = data if max_chars is None else _prefix(data, max_chars)
    extracted = extract_text_file(suffix, kept)
    extracted.truncated = len(kept) < len(data)
    return extracted


def _prefix(data: bytes, max_chars: int) -> bytes:
    """The bytes of the first `max_chars` characters (a character is at most 4 bytes of
    UTF-8, so no more is decoded), never ending in half a character."""
    try:
        # Not final: a character cut at the end is held back, not an error.
        text = codecs.getincrementaldecoder("utf-8")().decode(data[:4 * max_chars])
    except UnicodeDecodeError:
        return data  # not UTF-8: extract_text_file says so
    return text[:max_chars].encode() if len(text) > max_chars else data[:len(text.encode())]
