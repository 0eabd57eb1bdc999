"""Markdown as the plain text a voice reads: no markup said aloud, nothing read twice.

The answer's text is the model's Markdown. Spoken, asterisks and hashes are noise, a link is
read by its title (never its address), a code block is replaced by a short phrase pointing to
the written message, and citation marks like [1] are dropped. The result is then split into
parts SpeechKit takes in one request (parts()).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable

_FENCE = re.compile(r"^[ \t]*(```|~~~)[^\n]*\n.*?(^[ \t]*\1[ \t]*$|\Z)", re.S | re.M)
_IMAGE = re.compile(r"!\[([^\]]*)\]\([^)]*\)")
_LINK = re.compile(r"\[([^\]]+)\]\((?:[^()]|\([^)]*\))*\)")
_REF_LINK = re.compile(r"\[([^\]]+)\]\[[^\]]*\]")
_URL = re.compile(r"<?\bhttps?://[^\s>)\]]*[^\s>)\].,;:!?]>?")
_CITATION = re.compile(r"\s?\[\d+(?:\s*[,\-–]\s*\d+)*\]")
_INLINE_CODE = re.compile(r"`+([^`]+)`+")
_HTML = re.compile(r"</?[A-Za-z][^>]*>")
_HEADING = re.compile(r"^[ \t]*#{1,6}[ \t]+(.*?)[ \t#]*$", re.M)
_QUOTE = re.compile(r"^[ \t]*>+[ \t]?", re.M)
_BULLET = re.compile(r"^[ \t]*[-*+•][ \t]+", re.M)
_RULE = re.compile(r"^[ \t]*([-*_])([ \t]*\1){2,}[ \t]*$", re.M)
_TABLE_RULE = re.compile(r"^[ \t]*\|?[ \t]*:?-{2,}:?[ \t]*(\|[ \t]*:?-{2,}:?[ \t]*)*\|?[ \t]*$",
                         re.M)
_EMPHASIS = re.compile(r"(\*\*|__|~~|\*|(?<!\w)_(?=\S)|(?<=\S)_(?!\w))")
_SPACES = re.compile(r"[ \t\u00a0]+")
_BEFORE_MARK = re.compile(r" +([.,!?;:…])")
_BLANKS = re.compile(r"\n{2,}")
_END = ".!?…:;"


def speakable(markdown: str, code_phrase: str) -> str:
    """The words of ``markdown`` to be spoken; code blocks become ``code_phrase``."""
    text = _FENCE.sub(lambda _m: f"\n{code_phrase}\n", markdown.replace("\r\n", "\n"))
    text = _IMAGE.sub(r"\1", text)
    text = _LINK.sub(r"\1", text)
    text = _REF_LINK.sub(r"\1", text)
    text = _URL.sub("", text)
    text = _CITATION.sub("", text)
    text = _INLINE_CODE.sub(r"\1", text)
    text = _HTML.sub("", text)
    text = _TABLE_RULE.sub("", text)
    text = _RULE.sub("", text)
    text = _HEADING.sub(lambda m: _sentence(m.group(1)), text)
    text = _QUOTE.sub("", text)
    text = _BULLET.sub("", text)
    text = _EMPHASIS.sub("", text)
    text = "\n".join(_table_row(line) for line in text.split("\n"))
    text = "".join(ch for ch in text if unicodedata.category(ch) not in ("So", "Cs", "Co"))
    lines = [_BEFORE_MARK.sub(r"\1", _SPACES.sub(" ", line)).strip() for line in text.split("\n")]
    return _BLANKS.sub("\n\n", "\n".join(lines)).strip()


def _sentence(line: str) -> str:
    line = line.strip()
    return line if not line or line[-1] in _END else f"{line}."


def _table_row(line: str) -> str:
    if line.count("|") < 2:
        return line
    cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
    return _sentence(", ".join(cell for cell in cells if cell))


_SENTENCE_END = re.compile(r"(?<=[.!?…])\s+|\n+")


def parts(text: str, max_chars: int, fits: Callable[[str], bool] = lambda _s: True) -> list[str]:
    """``text`` cut into pieces of at most ``max_chars`` characters that ``fits`` accepts,
    at sentence ends where possible, then at spaces, never losing a word."""
    pieces: list[str] = []
    current = ""
    for sentence in (s.strip() for s in _SENTENCE_END.split(text)):
        if not sentence:
            continue
        joined = f"{current} {sentence}" if current else sentence
        if len(joined) <= max_chars and fits(joined):
            current = joined
            continue
        if current:
            pieces.append(current)
        current = ""
        for word in sentence.split(" "):
            joined = f"{current} {word}" if current else word
            if len(joined) <= max_chars and fits(joined):
                current = joined
                continue
            if current:
                pieces.append(current)
            current = word
            while len(current) > max_chars or not fits(current):  # one enormous "word"
                cut = _longest_prefix(current, max_chars, fits)
                pieces.append(current[:cut])
                current = current[cut:]
    if current:
        pieces.append(current)
    return pieces


def _longest_prefix(word: str, max_chars: int, fits: Callable[[str], bool]) -> int:
    cut = min(len(word), max_chars)
    while cut > 1 and not fits(word[:cut]):
        cut //= 2
    return max(cut, 1)
