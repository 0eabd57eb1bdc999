"""The audit of tool calls, as text: one line per call for the admins' /toolcalls and the
support-desk card, and the per-tool table of `bot report` (with its CSV).

Reads the stored calls (`ToolCall` of storage/models.py, written by the tool loop); knows
nothing of Telegram. Operator-facing, so plain English like the rest of the desk card and the
report.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Sequence
from pathlib import Path

from bot.features.tools.storage.models import ToolCall, ToolCallState
from bot.features.tools.storage.rows import ToolStats

ARGUMENTS_SHOWN = 160
STATE_WORDS = {
    ToolCallState.PENDING_CONFIRMATION: "waiting for the user's press",
    ToolCallState.CONFIRMED: "confirmed, about to run",
    ToolCallState.DECLINED: "declined",
    ToolCallState.EXPIRED: "expired unconfirmed",
    ToolCallState.PENDING: "about to run",
    ToolCallState.RUNNING: "running (or cut short)",
    ToolCallState.DONE: "done",
    ToolCallState.FAILED: "failed",
}


def arguments_text(arguments: object, limit: int = ARGUMENTS_SHOWN) -> str:
    text = json.dumps(arguments, ensure_ascii=False, separators=(", ", ": "))
    return text if len(text) <= limit else text[: limit - 1] + "…"


def call_line(call: ToolCall, *, with_user: bool = True) -> str:
    """`12:03 open_ticket {"subject": "Kettle"} -> done (ok, 230 ms), confirmed by 4242`."""
    when = call.created_at.strftime("%m-%d %H:%M")
    parts = [f"{when} {call.name} {arguments_text(call.arguments)}"]
    state = STATE_WORDS.get(call.state, str(call.state))
    figures = [f for f in (call.outcome if call.outcome and call.outcome != state else None,
                           f"{call.latency_ms} ms" if call.latency_ms is not None else None,
                           call.detail) if f]
    parts.append(f"-> {state}" + (f" ({', '.join(figures)})" if figures else ""))
    if call.decided_by is not None:
        approval = bool(call.approvers)
        declined = call.state in (ToolCallState.DECLINED, ToolCallState.EXPIRED)
        verb = ("denied" if declined else "approved") if approval else (
            "declined" if declined else "confirmed")
        who = f"{call.decided_by_name} ({call.decided_by})" if call.decided_by_name else str(
            call.decided_by)
        parts.append(f"{verb} by {who}")
    elif call.approvers:
        parts.append(f"approvers {call.approvers}")
    if with_user:
        where = "" if call.chat_id == call.user_id else f" in chat {call.chat_id}"
        parts.append(f"asked by {call.user_id}{where}")
    line = " ".join(parts[:2])
    rest = ", ".join(parts[2:])
    return f"{line}, {rest}" if rest else line


def calls_text(calls: Sequence[ToolCall], *, limit: int = 3800, with_user: bool = True) -> str:
    """Lines newest first as given, cut to fit one Telegram message."""
    lines: list[str] = []
    size = 0
    for call in calls:
        line = f"#{call.id} {call_line(call, with_user=with_user)}"
        if size + len(line) + 1 > limit:
            lines.append(f"… {len(calls) - len(lines)} more")
            break
        lines.append(line)
        size += len(line) + 1
    return "\n".join(lines)


def stats_table(stats: Sequence[ToolStats], days: int) -> str:
    """`bot report`'s tools section."""
    if not stats:
        return f"Tools (last {days} days): no calls"
    width = max(len("tool"), *(len(s.name) for s in stats))
    lines = [f"Tools (last {days} days)",
             f"  {'tool':<{width}}  calls  failed  declined  expired"]
    for s in stats:
        lines.append(f"  {s.name:<{width}}  {s.calls:>5}  {s.failures:>6}  {s.declines:>8}  "
                     f"{s.expired:>7}")
    total = [sum(getattr(s, f) for s in stats) for f in ("calls", "failures", "declines",
                                                          "expired")]
    lines.append(f"  {'all':<{width}}  {total[0]:>5}  {total[1]:>6}  {total[2]:>8}  "
                 f"{total[3]:>7}")
    return "\n".join(lines)


def write_stats_csv(stats: Sequence[ToolStats], path: Path) -> int:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["tool", "calls", "failures", "declines", "expired"])
        for s in stats:
            writer.writerow([s.name, s.calls, s.failures, s.declines, s.expired])
    return len(stats)


def tools_csv_path(csv_path: Path) -> Path:
    """Beside the report's CSV (one row per conversation): one row per tool."""
    return csv_path.with_name(f"{csv_path.stem}-tools{csv_path.suffix or '.csv'}")
