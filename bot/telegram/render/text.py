"""The rendered value type and UTF-16 helpers.

Telegram measures text and entity offsets in UTF-16 code units (an emoji outside the BMP is 2),
see https://core.telegram.org/api/entities#entity-length.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from aiogram.types import MessageEntity

_ASTRAL = re.compile("[\U00010000-\U0010ffff]")
TELEGRAM_TEXT_LIMIT = 4096
"""sendMessage / editMessageText / sendMessageDraft text limit, after entity parsing."""


def utf16_len(text: str) -> int:
    """Length of ``text`` in UTF-16 code units."""
    if text.isascii():
        return len(text)
    return len(text.encode("utf-16-le")) // 2


def utf16_offsets(text: str) -> list[int]:
    """``offsets[i]`` is the UTF-16 offset of ``text[i]``; ``offsets[len(text)]`` is the total."""
    if text.isascii():
        return list(range(len(text) + 1))
    offsets: list[int] = []
    previous = extra = 0
    for match in _ASTRAL.finditer(text):  # built from ranges: no Python loop per character
        position = match.start()
        offsets.extend(range(previous + extra, position + 1 + extra))
        extra += 1
        previous = position + 1
    offsets.extend(range(previous + extra, len(text) + 1 + extra))
    return offsets


@dataclass(frozen=True)
class RenderedText:
    """Plain text plus entities (offsets in UTF-16 units), sent with ``parse_mode=None``."""

    text: str
    entities: list[MessageEntity] = field(default_factory=list)

    @property
    def utf16_length(self) -> int:
        return utf16_len(self.text)

    def send_kwargs(self) -> dict[str, object]:
        """Keyword arguments for SendMessage / EditMessageText / SendMessageDraft."""
        return {"text": self.text, "entities": self.entities or None, "parse_mode": None}

    @cached_property
    def entities_json(self) -> list[dict[str, Any]]:
        """The entities as the Bot API's JSON takes them (made once per rendered text)."""
        return [entity_json(e) for e in self.entities]

    @classmethod
    def plain(cls, text: str) -> RenderedText:
        return cls(text=text, entities=[])


def entity_json(entity: MessageEntity) -> dict[str, Any]:
    """``entity.model_dump(mode="json", exclude_none=True)``, without pydantic for the fields
    our renderer sets (half the cost)."""
    if (
        entity.user is not None
        or entity.custom_emoji_id is not None
        or entity.unix_time is not None
        or entity.date_time_format is not None
        or entity.model_extra
    ):
        return entity.model_dump(mode="json", exclude_none=True)
    out: dict[str, Any] = {"type": entity.type, "offset": entity.offset, "length": entity.length}
    if entity.url is not None:
        out["url"] = entity.url
    if entity.language is not None:
        out["language"] = entity.language
    return out


def clip_entities(entities: list[MessageEntity], start: int, end: int) -> list[MessageEntity]:
    """Entities intersected with the UTF-16 range [start, end), re-based to start.

    Empty intersections are dropped; the original order is kept.
    """
    clipped: list[MessageEntity] = []
    for entity in entities:
        lo = max(entity.offset, start)
        hi = min(entity.offset + entity.length, end)
        if hi > lo:
            if lo == entity.offset and hi - lo == entity.length and start == 0:
                clipped.append(entity)
            else:
                clipped.append(entity.model_copy(update={"offset": lo - start, "length": hi - lo}))
    return clipped


def strip_rendered(text: str, entities: list[MessageEntity]) -> RenderedText:
    """Drop leading/trailing whitespace (Telegram trims it too), clipping entities to match."""
    stripped = text.rstrip()
    lead = len(stripped) - len(stripped.lstrip())
    stripped = stripped.lstrip()
    start = utf16_len(text[:lead])
    end = start + utf16_len(stripped)
    clipped = clip_entities(entities, start, end)
    clipped.sort(key=lambda e: (e.offset, -e.length))
    return RenderedText(text=stripped, entities=clipped)
