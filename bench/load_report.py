"""Pairs what the model streamed with what each chat saw, and prints the benchmark's table.

Per text turn (see load_driver.py for the markers):
- the model's record: the last streamed completion whose prompt holds the turn's marker;
- the chat's events (drafts, messages, edits) between this turn's user message and the next;
- first visible = the first event with text, minus the model's first chunk;
- final = the first message or edit whose text equals the model's whole answer, minus the
  model's last chunk; exact = the last message/edit of the turn shows exactly that text;
- complete = the first event of any kind (a draft too) whose text equals the whole answer,
  minus the model's last chunk: when the user could read all of it (the final message may
  come later: drafts are outside the bot-wide 30 messages a second). Never part of "final".
- the user's side: from the user's message (the driver's clock) to the first visible text
  ("first words") and to the final message, whatever happened in between (the queue before
  the model, the model's first-token delay, the bot's CPU);
- the floor of "final": the model's own last-chunk times of the run sent through an ideal
  rolling window of 30 messages in any second, first come first served, each final the
  instant its answer ends or the window has room (``window_floor``): the least wait a sender
  of one message per answer can have, in the order the answers end.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from bench.load_driver import Turn

_MARKER = re.compile(r"\bm-?\d+x\d+\b")


@dataclass
class TurnFigures:
    answered: bool = False
    exact: bool = False
    first_visible: float | None = None  # seconds after the model's first chunk
    final: float | None = None  # seconds after the model's last chunk
    complete: float | None = None  # whole text visible (draft or message), after the last chunk
    queue: float | None = None  # user message -> model's first chunk
    first_wait: float | None = None  # user message -> first visible text
    final_wait: float | None = None  # user message -> final message


@dataclass
class RunFigures:
    users: int
    groups: int
    text_turns: int = 0
    answered: int = 0
    exact: int = 0
    images_requested: int = 0
    images_delivered: int = 0
    tg_429: int = 0
    fm_429: int = 0
    first_visible: list[float] = field(default_factory=list)
    final: list[float] = field(default_factory=list)
    complete: dict[str, list[float]] = field(default_factory=dict)  # by chat type
    queue: list[float] = field(default_factory=list)
    by_kind: dict[str, tuple[list[float], list[float]]] = field(default_factory=dict)
    # the user's side, by chat type: (message -> first words, message -> final message)
    user_side: dict[str, tuple[list[float], list[float]]] = field(default_factory=dict)
    answer_ends: list[float] = field(default_factory=list)  # the model's last chunks
    cpu_seconds: float = 0.0
    cpu_system_seconds: float = 0.0
    # voluntary context switches of the bot's main thread: each is a sleep in the event loop
    wakeups: int = 0
    peak_rss_mb: float = 0.0
    db_mb: float = 0.0
    wall: float = 0.0
    tg_calls: dict[str, int] = field(default_factory=dict)
    tg_429_detail: dict[str, int] = field(default_factory=dict)
    tg_429_by_method: dict[str, int] = field(default_factory=dict)
    load_before: str = ""
    load_after: str = ""
    problems: list[str] = field(default_factory=list)

    @property
    def cpu_ms_per_turn(self) -> float:
        return 1000 * self.cpu_seconds / max(1, self.answered)


def records_by_marker(records: Sequence[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for record in records:
        if record["status"] != 200 or record["last_chunk_at"] is None:
            continue
        for marker in _MARKER.findall(record["prompt"]):
            out[marker] = record  # later records (a retry) win
    return out


def figure_turn(
    turn: Turn, until: float, events: Sequence[dict[str, Any]], record: dict[str, Any] | None
) -> TurnFigures:
    out = TurnFigures()
    window = [e for e in events if turn.sent_at <= e["at"] < until]
    finals = [e for e in window if e["kind"] in ("message", "edit")]
    if record is None or not finals:
        return out
    out.answered = True
    out.exact = finals[-1]["text"] == record["text"]
    out.queue = record["first_chunk_at"] - turn.sent_at
    first = next((e for e in window if e["text"]), None)
    if first is not None:
        out.first_visible = first["at"] - record["first_chunk_at"]
        out.first_wait = first["at"] - turn.sent_at
    final = next((e for e in finals if e["text"] == record["text"]), None)
    if final is not None:
        out.final = final["at"] - record["last_chunk_at"]
        out.final_wait = final["at"] - turn.sent_at
    complete = next((e for e in window if e["text"] == record["text"]), None)
    if complete is not None:
        out.complete = complete["at"] - record["last_chunk_at"]
    return out


def collect(
    figures: RunFigures,
    turns: Sequence[Turn],
    chats: dict[int, dict[str, Any]],
    records: Sequence[dict[str, Any]],
) -> None:
    by_marker = records_by_marker(records)
    figures.answer_ends = sorted(r["last_chunk_at"] for r in by_marker.values())
    by_chat: dict[int, list[Turn]] = {}
    for turn in turns:
        by_chat.setdefault(turn.chat_id, []).append(turn)
    for chat_id, chat_turns in by_chat.items():
        chat_turns.sort(key=lambda t: t.sent_at)
        state = chats.get(chat_id, {"events": [], "messages": []})
        for i, turn in enumerate(chat_turns):
            until = chat_turns[i + 1].sent_at if i + 1 < len(chat_turns) else math.inf
            if turn.kind == "image":
                figures.images_requested += 1
                photos = [
                    m
                    for m in state["messages"]
                    if m["from_bot"] and m["has_photo"] and m["sent_at"] >= turn.sent_at
                ]
                figures.images_delivered += bool(photos)
                continue
            figures.text_turns += 1
            got = figure_turn(turn, until, state["events"], by_marker.get(turn.marker))
            figures.answered += got.answered
            figures.exact += got.exact
            if got.answered and not got.exact and len(figures.problems) < 5:
                figures.problems.append(f"inexact answer in chat {chat_id} turn {turn.index}")
            elif not got.answered and len(figures.problems) < 5:
                figures.problems.append(f"no answer in chat {chat_id} turn {turn.index}")
            first_of_kind, final_of_kind = figures.by_kind.setdefault(turn.kind, ([], []))
            words_of_kind, ended_of_kind = figures.user_side.setdefault(turn.kind, ([], []))
            if got.complete is not None:
                figures.complete.setdefault(turn.kind, []).append(got.complete)
            for value, bucket in (
                (got.first_visible, figures.first_visible),
                (got.final, figures.final),
                (got.queue, figures.queue),
                (got.first_visible, first_of_kind),
                (got.final, final_of_kind),
                (got.first_wait, words_of_kind),
                (got.final_wait, ended_of_kind),
            ):
                if value is not None:
                    bucket.append(value)


def percentile(values: Sequence[float], q: float) -> float:
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(0, math.ceil(q / 100 * len(ordered)) - 1)
    return ordered[rank]


def by_kind(figures: RunFigures) -> str:
    """p50/p95/p99 of both delays per chat type (private chats draft, groups edit)."""
    return "; ".join(
        f"{kind}: first visible {_ms(first)} ms, final {_ms(final)} ms ({len(final)} turns)"
        for kind, (first, final) in sorted(figures.by_kind.items())
    )


def user_side(figures: RunFigures) -> str:
    """p50/p95/p99 from the user's message to the first words and to the final message."""
    every_first = [v for first, _ in figures.user_side.values() for v in first]
    every_final = [v for _, final in figures.user_side.values() for v in final]
    kinds = "; ".join(
        f"{kind}: first words {_ms(first)} ms, final {_ms(final)} ms"
        for kind, (first, final) in sorted(figures.user_side.items())
    )
    return f"all: first words {_ms(every_first)} ms, final {_ms(every_final)} ms; {kinds}"


def window_floor(ends: Sequence[float], limit: int = 30, span: float = 1.0) -> list[float]:
    """Seconds each final waits when the answers ending at ``ends`` are sent first come first
    served through an ideal rolling window (``limit`` in any ``span`` seconds, no CPU, no
    network): the i-th send goes at max(its end, the previous send, the (i - limit)-th send
    + span)."""
    sends: list[float] = []
    waits = []
    for end in sorted(ends):
        at = end
        if sends:
            at = max(at, sends[-1])
        if len(sends) >= limit:
            at = max(at, sends[-limit] + span)
        sends.append(at)
        waits.append(at - end)
    return waits


def final_floor(figures: RunFigures) -> str:
    """The final's p50/p95/p99 (after the model's last chunk) against the window's floor."""
    floor = window_floor(figures.answer_ends)
    return (
        f"final {_ms(figures.final)} ms after the model's last chunk; the floor that 30 sends "
        f"in any rolling second allow for this run's answer ends: {_ms(floor)} ms; "
        f"p95 over the floor: {1000 * (percentile(figures.final, 95) - percentile(floor, 95)):.0f}"
        " ms"
    )


def complete_visible(figures: RunFigures) -> str:
    """p50/p95/p99 of "complete text visible" (a draft or the message), all and by chat type."""
    every = [v for values in figures.complete.values() for v in values]
    kinds = "; ".join(f"{kind} {_ms(v)}" for kind, v in sorted(figures.complete.items()))
    return f"all {_ms(every)} ms ({len(every)} turns); {kinds}"


def _ms(values: Sequence[float]) -> str:
    return "/".join(f"{1000 * percentile(values, q):.0f}" for q in (50, 95, 99))


COLUMNS = (
    ("users", 6),
    ("groups", 6),
    ("answers", 9),
    ("exact", 9),
    ("images", 7),
    ("429 tg/fm", 9),
    ("first vis p50/95/99 ms", 22),
    ("final p50/95/99 ms", 19),
    ("queue p50/95 s", 14),
    ("CPU ms/turn", 11),
    ("peak RSS MB", 11),
    ("DB MB", 6),
    ("wall s", 6),
)


def table(runs: Sequence[RunFigures]) -> str:
    header = " | ".join(name.rjust(width) for name, width in COLUMNS)
    lines = [header, "-" * len(header)]
    for r in runs:
        queue = "/".join(f"{percentile(r.queue, q):.1f}" for q in (50, 95))
        cells = (
            str(r.users),
            str(r.groups),
            f"{r.answered}/{r.text_turns}",
            f"{r.exact}/{r.text_turns}",
            f"{r.images_delivered}/{r.images_requested}",
            f"{r.tg_429}/{r.fm_429}",
            _ms(r.first_visible),
            _ms(r.final),
            queue,
            f"{r.cpu_ms_per_turn:.2f}",
            f"{r.peak_rss_mb:.0f}",
            f"{r.db_mb:.1f}",
            f"{r.wall:.0f}",
        )
        lines.append(" | ".join(c.rjust(w) for c, (_, w) in zip(cells, COLUMNS, strict=True)))
    return "\n".join(lines)
