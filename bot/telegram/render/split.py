"""Split rendered text at Telegram's message length limit (UTF-16 units) on safe boundaries.

Preference per part: a paragraph / block boundary (blank line outside code), then any line
break (inside a code block this splits it into several ``pre`` blocks that keep the language),
then a sentence end, then a space, and as a last resort a hard cut between code points (never
inside a surrogate pair). The separator at a cut is dropped; entities are clipped and re-based.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Callable

from aiogram.enums import MessageEntityType

from bot.telegram.render.text import (
    TELEGRAM_TEXT_LIMIT,
    RenderedText,
    clip_entities,
    utf16_len,
    utf16_offsets,
)

_CODE_TYPES = {MessageEntityType.PRE, MessageEntityType.CODE}
_SENTENCE_END = re.compile(r"[.!?…;:](?=[ \t])")


def split_rendered(rendered: RenderedText, limit: int = TELEGRAM_TEXT_LIMIT) -> list[RenderedText]:
    """Parts of at most ``limit`` UTF-16 units each, in order; [] for blank text."""
    if limit < 2:
        raise ValueError("limit must be at least 2 UTF-16 units")
    text = rendered.text
    if utf16_len(text) <= limit:
        return [rendered] if text.strip() else []
    offsets = utf16_offsets(text)
    code = [(e.offset, e.offset + e.length) for e in rendered.entities if e.type in _CODE_TYPES]

    def in_code(index: int) -> bool:
        unit = offsets[index]
        return any(lo < unit < hi for lo, hi in code)

    def code_char(index: int) -> bool:
        unit = offsets[index]
        return any(lo <= unit < hi for lo, hi in code)

    parts: list[RenderedText] = []
    start = 0
    while start < len(text):
        if offsets[-1] - offsets[start] <= limit:
            cut, resume = len(text), len(text)
        else:
            max_end = bisect.bisect_right(offsets, offsets[start] + limit) - 1
            cut, resume = _find_cut(text, start, max_end, in_code)
        lo, hi = start, cut
        while lo < hi and text[lo].isspace() and (text[lo] == "\n" or not code_char(lo)):
            lo += 1
        while hi > lo and text[hi - 1].isspace():
            hi -= 1
        if hi > lo:
            entities = clip_entities(rendered.entities, offsets[lo], offsets[hi])
            parts.append(RenderedText(text=text[lo:hi], entities=entities))
        start = resume
    return parts


def _find_cut(
    text: str, start: int, max_end: int, in_code: Callable[[int], bool]
) -> tuple[int, int]:
    """(cut, resume): the part is text[start:cut], the next one starts at resume."""
    # 1. blank line outside code
    end = min(max_end + 2, len(text))
    while (i := text.rfind("\n\n", start + 1, end)) > start:
        if not in_code(i):
            return i, i + 2
        end = i + 1
    # 2. any line break
    i = text.rfind("\n", start + 1, max_end + 1)
    if i > start:
        return i, i + 1
    window = text[start : max_end + 1]
    # 3. sentence end followed by a space (the cut keeps the punctuation)
    ends = [m.end() for m in _SENTENCE_END.finditer(window)]
    if ends and ends[-1] > 0 and start + ends[-1] <= max_end:
        cut = start + ends[-1]
        return cut, cut + 1
    # 4. a space or tab
    i = max(text.rfind(" ", start + 1, max_end + 1), text.rfind("\t", start + 1, max_end + 1))
    if i > start:
        return i, i + 1
    # 5. hard cut between code points (max_end never lies inside an astral character)
    return max_end, max_end
