"""The conversations' quality over a period (issue 66), from the scores stored with them:
the verified resolution rate per day beside the volume, handoffs and CSAT, and the
worst-scored conversations with a link to their support-chat topic.

Verified resolution (docs/support-desk.md): the scorer read the conversation as resolved, no
person took part (no handoff), and the same user did not start another conversation within a
day of its end (a bot conversation ends DESK_IDLE_HOURS, a day by default, after its last
message: until then a message is part of it). The rate is over the conversations that could be
verified: those with the bot alone that have a score; one whose score did not parse
("unscored") counts there, never as resolved. A conversation a person took part in is never
verified, so it is counted apart; one not scored yet (not over, or its score still being
made) is counted as waiting.
"""

from __future__ import annotations

import datetime as dt
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from bot.features.desk.storage.insights_models import ScoreStatus
from bot.features.desk.storage.models import DeskStatus

IDLE = dt.timedelta(hours=24)  # a bot conversation is over after a day without a message


class CaseLike(Protocol):
    """What the figures read of a case: a `DeskCase`, or its columns read as a plain row
    (the console's live figures, storage/figures.py)."""

    @property
    def id(self) -> int: ...
    @property
    def user_id(self) -> int: ...
    @property
    def opened_at(self) -> dt.datetime: ...
    @property
    def handoff_at(self) -> dt.datetime | None: ...
    @property
    def csat_score(self) -> int | None: ...
    @property
    def last_user_at(self) -> dt.datetime: ...
    @property
    def resolved_at(self) -> dt.datetime | None: ...
    @property
    def status(self) -> DeskStatus: ...


class ScoreLike(Protocol):
    """What the figures read of a score: a `DeskScore`, or its columns as a plain row."""

    @property
    def status(self) -> ScoreStatus: ...
    @property
    def score(self) -> int | None: ...
    @property
    def resolved(self) -> bool | None: ...
    @property
    def tone(self) -> str | None: ...
    @property
    def breach(self) -> str | None: ...
    @property
    def evidence_line(self) -> int | None: ...
    @property
    def evidence(self) -> str | None: ...
REPEAT_WINDOW = dt.timedelta(days=1)


@dataclass(slots=True)
class DayQuality:
    day: dt.date
    conversations: int = 0
    handed_over: int = 0
    scored: int = 0  # with a score row: scored or unscored
    unscored: int = 0
    verifiable: int = 0  # with a score row and no person in it: the verified rate's base
    waiting: int = 0  # no score row yet: not over, or the score is being made
    resolved: int = 0  # the scorer said resolved (with or without a person, repeat or not)
    verified: int = 0
    csat: list[int] = field(default_factory=list)
    scores: list[int] = field(default_factory=list)

    @property
    def verified_rate(self) -> float | None:
        return self.verified / self.verifiable if self.verifiable else None

    @property
    def csat_average(self) -> float | None:
        return statistics.fmean(self.csat) if self.csat else None

    @property
    def mean_score(self) -> float | None:
        return statistics.fmean(self.scores) if self.scores else None


@dataclass(frozen=True, slots=True)
class Scored:
    """One scored conversation, as the worst list shows it."""

    case_id: int
    opened_at: dt.datetime
    score: int
    resolved: bool
    tone: str
    breach: str
    evidence_line: int | None
    evidence: str
    handed_over: bool
    link: str | None  # its topic in the support chat, when a person saw it


@dataclass(frozen=True, slots=True)
class Quality:
    days: list[DayQuality]
    worst: list[Scored]
    repeats: int  # resolved by the bot alone, but the user came back within a day
    verified_ids: frozenset[int] = frozenset()  # the conversations counted verified

    def total(self) -> DayQuality:
        whole = DayQuality(self.days[0].day if self.days else dt.date.min)
        for day in self.days:
            whole.conversations += day.conversations
            whole.handed_over += day.handed_over
            whole.scored += day.scored
            whole.unscored += day.unscored
            whole.verifiable += day.verifiable
            whole.waiting += day.waiting
            whole.resolved += day.resolved
            whole.verified += day.verified
            whole.csat += day.csat
            whole.scores += day.scores
        return whole


def topic_link(chat_id: int, thread_id: int) -> str | None:
    """t.me/c/<internal id>/<thread>: opens the topic for a member of the support chat (a
    supergroup's id is -100 followed by its internal id)."""
    text = str(chat_id)
    if not text.startswith("-100") or len(text) <= 4:
        return None
    return f"https://t.me/c/{text[4:]}/{thread_id}"


def ended(case: CaseLike, idle: dt.timedelta = IDLE) -> dt.datetime:
    """When the conversation was over: closed by a person, or `idle` after the last message."""
    last = max(case.last_user_at, case.resolved_at or case.last_user_at)
    return last if case.status is DeskStatus.RESOLVED else last + idle


def compute_quality(
    cases: Sequence[CaseLike],
    scores: Mapping[int, ScoreLike],
    openings: dict[int, list[tuple[int, dt.datetime]]],
    topics: dict[int, tuple[int, int]],
    *,
    start: dt.datetime,
    end: dt.datetime,
    worst: int = 5,
    idle: dt.timedelta = IDLE,
) -> Quality:
    """`openings`: each user's conversations (id, opened_at) from the period's start on;
    `topics`: user -> (support chat, thread)."""
    days: dict[dt.date, DayQuality] = {}
    day = start.date()
    while day <= end.date():
        days[day] = DayQuality(day)
        day += dt.timedelta(days=1)
    scored: list[Scored] = []
    verified: set[int] = set()
    repeats = 0
    for case in cases:
        figures = days.setdefault(case.opened_at.date(), DayQuality(case.opened_at.date()))
        figures.conversations += 1
        figures.handed_over += case.handoff_at is not None
        if case.csat_score is not None:
            figures.csat.append(case.csat_score)
        row = scores.get(case.id)
        if row is None:
            figures.waiting += 1
            continue
        figures.scored += 1
        figures.verifiable += case.handoff_at is None
        if row.status is not ScoreStatus.SCORED or row.score is None:
            figures.unscored += 1
            continue
        figures.scores.append(row.score)
        if row.resolved:
            figures.resolved += 1
            if case.handoff_at is None:
                if _repeated(case, openings.get(case.user_id, []), idle):
                    repeats += 1
                else:
                    figures.verified += 1
                    verified.add(case.id)
        topic = topics.get(case.user_id)
        link = topic_link(*topic) if topic is not None and case.handoff_at else None
        scored.append(Scored(
            case.id, case.opened_at, row.score, bool(row.resolved), row.tone or "",
            row.breach or "", row.evidence_line, row.evidence or "",
            case.handoff_at is not None, link,
        ))
    scored.sort(key=lambda s: (s.score, not s.breach, s.resolved, s.case_id))
    return Quality(sorted(days.values(), key=lambda d: d.day), scored[:worst], repeats,
                   frozenset(verified))


def _repeated(case: CaseLike, openings: list[tuple[int, dt.datetime]],
              idle: dt.timedelta) -> bool:
    """Whether the user's next conversation opened within a day of this one's end."""
    after = [opened for case_id, opened in openings if case_id > case.id]
    return bool(after) and min(after) <= ended(case, idle) + REPEAT_WINDOW


def quality_lines(q: Quality) -> list[str]:
    """The report's lines: the verified rate, per day, the worst conversations."""
    whole = q.total()
    handed = whole.scored - whole.verifiable
    apart = (f"handed to a person, never verified: {handed}; waiting to be scored: "
             f"{whole.waiting}; unscored: {whole.unscored}")
    if not whole.verifiable:
        lines = [f"Verified resolution: cannot be computed yet: no conversation with the bot "
                 f"alone scored (DESK_INSIGHTS scores each one DESK_IDLE_HOURS after its last "
                 f"message; {apart})"]
    else:
        with_person = whole.resolved - whole.verified - q.repeats
        lines = [
            f"Verified resolution: {whole.verified} of {whole.verifiable} scored conversations "
            f"with the bot alone ({100 * whole.verified / whole.verifiable:.0f}%): scored "
            f"resolved, no repeat within a day (scored resolved {whole.resolved}: with a person "
            f"{with_person}, the user back within a day {q.repeats}; {apart})",
        ]
    lines += [
        "Per day: conversations, handed over, verified (of the bot's scored), CSAT, mean "
        "score:",
    ]
    for day in q.days:
        if not day.conversations:
            continue
        rate = f"{day.verified}/{day.verifiable}" + (
            f" ({100 * day.verified_rate:.0f}%)" if day.verified_rate is not None else "")
        csat = f"{day.csat_average:.2f}" if day.csat_average is not None else "-"
        mean = f"{day.mean_score:.1f}" if day.mean_score is not None else "-"
        lines.append(f"  {day.day:%Y-%m-%d}: {day.conversations}, {day.handed_over}, {rate}, "
                     f"CSAT {csat}, score {mean}")
    if q.worst:
        lines.append("Worst-scored conversations:")
        for s in q.worst:
            what = "resolved" if s.resolved else "not resolved"
            breach = f"; breach: {_flat(s.breach, 120)}" if s.breach else ""
            where = f" line {s.evidence_line}" if s.evidence_line else ""
            lines.append(f"  #{s.case_id} {s.opened_at:%Y-%m-%d} score {s.score}/5, {what}, "
                         f"tone {s.tone}{breach}; evidence{where}: {_flat(s.evidence, 160)}"
                         + (f" {s.link}" if s.link else ""))
    return lines


def _flat(text: str, limit: int) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"
