"""Stabilise the tail of a Markdown answer that is still being generated.

Mid-stream the last paragraph often ends inside ``**bold``, `` `code`` or ``[label](http...``.
Rendered as is, the raw markers show and then vanish when the closer arrives (flicker, and
"garbage" for a reader). Here the dangling openers of the last paragraph are closed and a
half-typed link is reduced to its label. An unclosed code fence needs nothing: CommonMark
already runs it to the end of the document.
"""

from __future__ import annotations

import re

_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
_PARTIAL_LINK = re.compile(r"(!?)\[([^\[\]\n]*)\]\([^()\s]*$")
_MARKERS = ("**", "__", "~~", "*", "_")
_TRAILING_OPENER = re.compile(r"(^|\s)[*_~`]+\s*$")
_ACTIVE = ("\\", "`", "*", "_", "~", "[")
_OPENER_CHARS = ("*", "_", "~", "`")
_SPECIAL = re.compile(r"[\\`*_~]")  # what _close_inline acts on; the rest is skipped


def close_dangling_markup(markdown: str) -> str:
    if not any(char in markdown for char in _ACTIVE):  # nothing below could change it
        return markdown
    if _inside_open_fence(markdown):
        return markdown
    head, sep, tail = markdown.rpartition("\n\n")
    # Both patterns can only match in these cases; tested first, as running them costs ~30 µs
    # each on a long paragraph (a regex starting with an optional or a lookbehind-like group
    # is tried at every position).
    if "[" in tail and "](" in tail:
        tail = _PARTIAL_LINK.sub(lambda m: m.group(2), tail)
    if tail.rstrip()[-1:] in _OPENER_CHARS:
        tail = _TRAILING_OPENER.sub(lambda m: m.group(1), tail)
    return head + sep + _close_inline(tail)


def _inside_open_fence(markdown: str) -> bool:
    fence = ""
    for line in markdown.split("\n"):
        match = _FENCE.match(line)
        if not match:
            continue
        run = match.group(1)
        if not fence:
            fence = run
        elif run[0] == fence[0] and len(run) >= len(fence) and not line.strip(" `~"):
            fence = ""
    return bool(fence)


def _close_inline(text: str) -> str:
    stack: list[tuple[str, int]] = []  # (marker, index where it starts)
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch == "\\":
            i += 2
            continue
        if ch == "`":
            run = _run_length(text, i, "`")
            close = text.find("`" * run, i + run)
            if close < 0:  # unclosed code span: close it
                if not text[i + run :].strip():
                    return _close_emphasis(text[:i].rstrip(), stack)
                return _close_emphasis(text + "`" * run, stack)
            i = close + run
            continue
        marker = next((m for m in _MARKERS if text.startswith(m, i)), None)
        if marker is None:
            # Jump to the next character that can matter: a per-character walk cost ~3 ms
            # per streamed frame of a 300-word paragraph (py-spy under bench/bench_load.py).
            found = _SPECIAL.search(text, i + 1)
            i = found.start() if found else n
            continue
        before = text[i - 1] if i else " "
        after = text[i + len(marker)] if i + len(marker) < n else " "
        if stack and stack[-1][0] == marker and not before.isspace():
            stack.pop()
        elif not after.isspace() and not before.isalnum():
            stack.append((marker, i))
        i += len(marker)
    return _close_emphasis(text, stack)


def _run_length(text: str, start: int, ch: str) -> int:
    end = start
    while end < len(text) and text[end] == ch:
        end += 1
    return end - start


def _close_emphasis(text: str, stack: list[tuple[str, int]]) -> str:
    if not stack:
        return text
    # An opener with nothing after it yet is dropped rather than closed on empty text.
    while stack and not text[stack[-1][1] + len(stack[-1][0]) :].strip():
        text = text[: stack.pop()[1]]
    text = text.rstrip()
    return text + "".join(marker for marker, _ in reversed(stack))
