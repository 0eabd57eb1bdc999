"""`bot.plugin.reading`: documents read into text: the extractors (PDF, DOCX, HTML, office
files), their blocks and errors, passages cut from them, the reader that runs them in a worker
process, and the stemming of words for full-text search. No feature, front or store."""

from __future__ import annotations

from bot.reading.blocks import (
    Block,
    BusyReaderError,
    DocumentError,
    EncryptedDocumentError,
    Extracted,
    MissingExtraError,
    NoTextError,
    TooComplexDocumentError,
    UnsupportedDocumentError,
)
from bot.reading.chunking import Passage, block_passages, passages
from bot.reading.extractors import BINARY_SUFFIXES, CHAT_SUFFIXES, SUFFIXES, extract, suffix_of
from bot.reading.reading import KB_CPU_SECONDS, KB_WALL_SECONDS, DocumentReader
from bot.reading.stemming import STOPWORDS, search_text, stems, words
from bot.reading.text_formats import access_groups, markdown_access

__all__ = [
    "BINARY_SUFFIXES",
    "CHAT_SUFFIXES",
    "KB_CPU_SECONDS",
    "KB_WALL_SECONDS",
    "STOPWORDS",
    "SUFFIXES",
    "Block",
    "BusyReaderError",
    "DocumentError",
    "DocumentReader",
    "EncryptedDocumentError",
    "Extracted",
    "MissingExtraError",
    "NoTextError",
    "Passage",
    "TooComplexDocumentError",
    "UnsupportedDocumentError",
    "access_groups",
    "block_passages",
    "extract",
    "markdown_access",
    "passages",
    "search_text",
    "stems",
    "suffix_of",
    "words",
]
