"""An answer's trace: why the bot said what it said, recorded with the answer.

The core offers every turn one `Trace` (`TurnState.trace`); each feature adds its own entries
under a key of its choosing (the knowledge base its search, the tool loop its calls, the
grounding the rules that fired), and the core adds the model's (model, wire, tokens, times).
The core stores the trace with the answer, in the answer's transaction (finishing.py), and
knows no feature's entry; readers (the console) only read it.

Entries are JSON values. Much of what goes in is written by the model or the customer (a
tool's arguments, a passage, a search text): it is kept as data, never interpreted, and
whoever shows it escapes it. A trace is bounded: each entry to `ENTRY_LIMIT` bytes of JSON and
the whole to `TRACE_LIMIT`, long strings and lists shortened with a marker, so one answer can
never store a megabyte of tool result.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

#: The most one entry takes, as JSON (bytes of UTF-8).
ENTRY_LIMIT = 16 * 1024
#: The most a whole trace takes, as JSON.
TRACE_LIMIT = 64 * 1024
#: What marks a shortened string (its end) or list (its last item).
CUT = "…[truncated]"

# Each round shortens strings and lists harder until the entry fits.
_ROUNDS = ((4000, 200), (1000, 50), (200, 20), (40, 5))


class Trace:
    """The entries of one answer's trace, by key. `add` replaces an entry of the same key:
    a feature's `record` may run again when the answer's store is retried."""

    __slots__ = ("_entries", "tags")

    def __init__(self) -> None:
        self._entries: dict[str, Any] = {}
        # What the answer can be found by ("tool:order_status", "doc:delivery.md",
        # "notfound"): stored beside the trace, for the console's filters.
        self.tags: set[str] = set()

    def tag(self, *tags: str) -> None:
        """Mark the answer with `tags` (each cut to 200 characters, whitespace made spaces)."""
        self.tags.update(tags)

    def add(self, key: str, value: object) -> None:
        """Set the entry `key` to `value` (JSON-able; anything else is kept as its `str`),
        shortened to `ENTRY_LIMIT`."""
        self._entries[key] = bounded(value, ENTRY_LIMIT)

    def get(self, key: str) -> Any:
        """The entry `key` as stored, or None."""
        return self._entries.get(key)

    def __bool__(self) -> bool:
        return bool(self._entries)

    @property
    def entries(self) -> Mapping[str, Any]:
        return self._entries

    def dumps(self) -> str:
        """The trace as JSON, within `TRACE_LIMIT`: when the entries together are too big,
        the largest are shortened first."""
        text = _dumps(self._entries)
        if len(text.encode()) <= TRACE_LIMIT:
            return text
        entries = dict(self._entries)
        share = TRACE_LIMIT // max(1, len(entries)) - 64
        for key in sorted(entries, key=lambda k: -len(_dumps(entries[k]))):
            entries[key] = bounded(entries[key], max(share, 256))
            text = _dumps(entries)
            if len(text.encode()) <= TRACE_LIMIT:
                return text
        return _dumps({"truncated": CUT, "keys": sorted(entries)[:100]})


def bounded(value: object, limit: int) -> Any:
    """`value` as plain JSON data whose dump takes at most `limit` bytes: strings and lists
    shortened harder each round, and at worst a marker with the start of its JSON."""
    plain = json.loads(_dumps(value))
    if len(_dumps(plain).encode()) <= limit:
        return plain
    for chars, items in _ROUNDS:
        short = _shorten(plain, chars, items)
        if len(_dumps(short).encode()) <= limit:
            return short
    start = _dumps(plain)[: max(0, limit // 2 - 64)]
    return {"truncated": CUT, "start": start}


def _shorten(value: Any, chars: int, items: int) -> Any:
    if isinstance(value, str):
        return value if len(value) <= chars else value[:chars] + CUT
    if isinstance(value, list):
        kept = [_shorten(item, chars, items) for item in value[:items]]
        return [*kept, CUT] if len(value) > items else kept
    if isinstance(value, dict):
        pairs = list(value.items())
        kept_pairs = {str(k)[:chars]: _shorten(v, chars, items) for k, v in pairs[:items * 4]}
        if len(pairs) > items * 4:
            kept_pairs[CUT] = len(pairs) - items * 4
        return kept_pairs
    return value


def _dumps(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, default=str, separators=(",", ":"))
