"""The desk's figures over a period, from stored cases and turns (never from logs).

Definitions (docs/support-desk.md, "Reports"):
- conversations: cases opened in the period (plus those since deleted, counted only);
- resolved by the bot: no handoff, and a 👍 or a thanks (confirmed), or no new message within
  24 h (assumed); conversations still inside their 24 h are "still open";
- time to the first operator reply: handoff -> first relayed operator message, wall clock and
  within SUPPORT_HOURS; resolution time: handoff -> /close;
- CSAT: the average of the ratings and ratings / rating requests;
- knowledge-base gaps: questions answered "not found", grouped by their normalised words.
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import re
import statistics
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.features.desk.domain.hours import SupportHours
from bot.features.desk.domain.quality import Quality, compute_quality, quality_lines
from bot.features.desk.storage.cases import DeskRepository
from bot.features.desk.storage.erasure import DeskErasureRepository
from bot.features.desk.storage.insight_jobs import InsightJobRepository, JobCount
from bot.features.desk.storage.models import DeskCase, DeskStatus, DeskTurn
from bot.features.desk.storage.scores import DeskScoreRepository
from bot.plugin.helpers import quantity
from bot.plugin.storage import utcnow

IDLE = dt.timedelta(hours=24)
_WORD = re.compile(r"\w+")


@dataclass(frozen=True, slots=True)
class Report:
    start: dt.datetime
    end: dt.datetime
    conversations: int
    deleted: int
    bot_confirmed: int
    bot_assumed: int
    still_open: int
    handed_over: int
    by_reason: dict[str, int]
    first_reply_wall: list[float]  # seconds, one per answered handoff
    first_reply_hours: list[float] | None  # None: SUPPORT_HOURS not set
    waiting_now: int
    resolution: list[float]
    csat_scores: list[int]
    csat_asked: int
    thumbs_up: int
    thumbs_down: int
    gaps: list[tuple[str, int]]
    rows: list[dict[str, object]] = field(default_factory=list)
    # What users wrote after rating (newest first): when, the score, the text.
    comments: list[tuple[dt.datetime, int | None, str]] = field(default_factory=list)
    jobs: list[JobCount] = field(default_factory=list)  # deferred model jobs
    quality: Quality | None = None  # the scores' figures (issue 66)


# Words that say nothing about the topic of a question (grouping ignores them).
# fmt: off
_STOP = frozenset({
    "the", "and", "for", "with", "how", "what", "why", "when", "where", "who", "can", "you",
    "your", "are", "was", "were", "is", "it", "this", "that", "does", "do", "did", "not",
    "have", "has", "from", "about", "my", "our", "their", "a", "an", "to", "of", "in", "on",
    "at", "by", "or", "как", "что", "где", "когда", "почему", "зачем", "кто", "это", "для",
    "или", "мне", "мой", "моя", "мои", "ваш", "ваша", "вы", "мы", "они", "ли", "же", "не",
    "нет", "да", "на", "по", "из", "за", "от", "до", "при", "про", "то", "так",
})
# fmt: on


def gap_key(question: str) -> str:
    """Questions with the same content words, in any order or form of punctuation, group
    together ("Refund for a broken phone?" and "refund, broken phone")."""
    words = [w for w in _WORD.findall(question.lower()) if w not in _STOP]
    return " ".join(sorted(set(words)))


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, round(q * (len(ordered) - 1))))
    return ordered[rank]


async def build_report(
    sessionmaker: async_sessionmaker[AsyncSession],
    *,
    days: int,
    hours: SupportHours,
    now: dt.datetime | None = None,
    idle: dt.timedelta = IDLE,
) -> Report:
    """The desk's figures over the last `days`; `idle` (DESK_IDLE_HOURS): the quiet after
    which a conversation with the bot alone is over."""
    end = now or utcnow()
    start = end - dt.timedelta(days=days)
    async with sessionmaker() as session:
        repo = DeskRepository(session)
        cases = await repo.cases_between(start, end)
        turns = await repo.turns_of([c.id for c in cases])
        erasure = DeskErasureRepository(session)
        deleted = await erasure.erased_between(start.date(), end.date() + dt.timedelta(days=1))
        insights_repo = InsightJobRepository(session)
        insights = await insights_repo.insights([c.id for c in cases])
        jobs = await insights_repo.counts(start)
        scores_repo = DeskScoreRepository(session)
        users = [c.user_id for c in cases]
        scores = await scores_repo.scores([c.id for c in cases])
        quality = compute_quality(
            cases, scores,
            await scores_repo.openings_of(users, start), await scores_repo.topics(users),
            start=start, end=end, idle=idle,
        )
    report = compute(cases, turns, deleted, hours, start, end, idle)
    for row in report.rows:
        case_id = int(str(row["conversation"]))
        score = scores.get(case_id)
        if score is not None:
            row.update({
                "qa": str(score.status), "qa_score": score.score,
                "qa_resolved": score.resolved, "qa_verified": case_id in quality.verified_ids,
                "qa_breach": " ".join((score.breach or "").split()),
            })
        found = insights.get(case_id)
        if found is not None:
            row.update({
                # One line per conversation: the summary's lines joined.
                "summary": " / ".join((found.summary or "").splitlines()),
                "intent": found.intent or "",
                "intent_confidence": found.intent_confidence,
                "sentiment": found.sentiment or "",
                "sentiment_confidence": found.sentiment_confidence,
                "language_tag": found.language or "",
                "language_confidence": found.language_confidence,
                "final_summary": " ".join((found.final_summary or "").split()),
            })
    return dataclasses.replace(report, jobs=jobs, quality=quality)


def compute(
    cases: list[DeskCase],
    turns: list[DeskTurn],
    deleted: int,
    hours: SupportHours,
    start: dt.datetime,
    end: dt.datetime,
    idle: dt.timedelta = IDLE,
) -> Report:
    by_case: dict[int, list[DeskTurn]] = {}
    for turn in turns:
        by_case.setdefault(turn.case_id, []).append(turn)
    confirmed = assumed = still_open = waiting = 0
    reasons: Counter[str] = Counter()
    wall: list[float] = []
    within: list[float] = []
    resolution: list[float] = []
    scores: list[int] = []
    asked = 0
    gaps: Counter[str] = Counter()
    examples: dict[str, str] = {}
    rows: list[dict[str, object]] = []
    comments: list[tuple[dt.datetime, int | None, str]] = []
    for case in cases:
        own = by_case.get(case.id, [])
        outcome = "open"
        if case.handoff_at is None:
            if case.confirmed_at is not None:
                confirmed += 1
                outcome = "bot_confirmed"
            elif end - case.last_user_at >= idle:
                assumed += 1
                outcome = "bot_assumed"
            else:
                still_open += 1
        else:
            reasons[str(case.handoff_reason or "unknown")] += 1
            outcome = "handed_over"
            if case.first_reply_at is not None:
                wall.append((case.first_reply_at - case.handoff_at).total_seconds())
                within.append(hours.open_seconds(case.handoff_at, case.first_reply_at))
            elif case.status in (DeskStatus.WAITING,):
                waiting += 1
            if case.resolution == "closed" and case.resolved_at is not None:
                resolution.append((case.resolved_at - case.handoff_at).total_seconds())
        if case.csat_asked_at is not None:
            asked += 1
        if case.csat_score is not None:
            scores.append(case.csat_score)
        if case.csat_comment:
            when = case.resolved_at or case.opened_at
            comments.append((when, case.csat_score, case.csat_comment))
        for turn in own:
            if turn.not_found and (key := gap_key(turn.question)):
                gaps[key] += 1
                examples.setdefault(key, turn.question.strip())
        rows.append(
            {
                "conversation": case.id,
                "user_id": case.user_id,
                "opened_at": case.opened_at.isoformat(),
                "outcome": outcome,
                "status": str(case.status),
                "handoff_reason": str(case.handoff_reason or ""),
                "handoff_at": case.handoff_at.isoformat() if case.handoff_at else "",
                "first_reply_seconds": (
                    round((case.first_reply_at - case.handoff_at).total_seconds(), 1)
                    if case.first_reply_at and case.handoff_at
                    else ""
                ),
                "resolved_at": case.resolved_at.isoformat() if case.resolved_at else "",
                "resolution": case.resolution or "",
                "csat": case.csat_score if case.csat_score is not None else "",
                "csat_comment": case.csat_comment or "",
                "questions": len(own),
                "not_found": sum(t.not_found for t in own),
                "thumbs_up": sum(t.feedback == 1 for t in own),
                "thumbs_down": sum(t.feedback == -1 for t in own),
            }
        )
    return Report(
        start=start,
        end=end,
        conversations=len(cases),
        deleted=deleted,
        bot_confirmed=confirmed,
        bot_assumed=assumed,
        still_open=still_open,
        handed_over=sum(reasons.values()),
        by_reason=dict(reasons.most_common()),
        first_reply_wall=wall,
        first_reply_hours=None if hours.always else within,
        waiting_now=waiting,
        resolution=resolution,
        csat_scores=scores,
        csat_asked=asked,
        thumbs_up=sum(t.feedback == 1 for t in turns),
        thumbs_down=sum(t.feedback == -1 for t in turns),
        gaps=[(examples[k], n) for k, n in gaps.most_common()],
        rows=rows,
        comments=sorted(comments, key=lambda c: c[0], reverse=True),
    )


def _duration(seconds: float) -> str:
    seconds = round(seconds)
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60} s"
    return f"{seconds // 3600} h {seconds % 3600 // 60} min"


def _times(values: list[float] | None, missing: str) -> str:
    if values is None:
        return missing
    if not values:
        return "cannot be computed: no operator reply in the period"
    median = _duration(statistics.median(values))
    replies = quantity(len(values), "en", "reply", "replies")
    return f"median {median}, p90 {_duration(_percentile(values, 0.9))} ({replies})"


def format_report(r: Report, limit_gaps: int = 10, limit_comments: int = 10) -> str:
    """Plain text for /stats and the terminal (the report's figures, each said or explained)."""
    lines = [f"Support desk, {r.start:%Y-%m-%d %H:%M} - {r.end:%Y-%m-%d %H:%M} UTC"]
    lines.append(f"Conversations: {r.conversations}" + (
        f" (+{r.deleted} deleted since, counted only)" if r.deleted else ""
    ))
    if r.conversations:
        lines.append(
            f"Resolved by the bot: {r.bot_confirmed + r.bot_assumed} "
            f"(confirmed by a thanks or 👍: {r.bot_confirmed}; "
            f"assumed, no new message within 24 h: {r.bot_assumed}); "
            f"still open: {r.still_open}"
        )
        share = 100 * r.handed_over / r.conversations
        lines.append(f"Handed over to a person: {r.handed_over} ({share:.0f}%)")
        for reason, count in r.by_reason.items():
            lines.append(f"  {reason}: {count}")
    else:
        lines.append("Resolved by the bot / handed over: cannot be computed: no conversations")
    lines.append("First operator reply, wall clock: " + _times(r.first_reply_wall, ""))
    lines.append(
        "First operator reply, within SUPPORT_HOURS: "
        + _times(r.first_reply_hours, "not set (SUPPORT_HOURS is empty: always open)")
    )
    if r.waiting_now:
        lines.append(f"  still waiting for a first reply: {r.waiting_now}")
    if r.resolution:
        lines.append(
            f"Resolution time (handoff to /close): median "
            f"{_duration(statistics.median(r.resolution))} ({len(r.resolution)} closed)"
        )
    else:
        lines.append("Resolution time: cannot be computed: no conversation closed by /close")
    if r.csat_scores:
        average = statistics.fmean(r.csat_scores)
        rate = f"{100 * len(r.csat_scores) / r.csat_asked:.0f}%" if r.csat_asked else "n/a"
        lines.append(
            f"CSAT: {average:.2f} of 5 from "
            f"{quantity(len(r.csat_scores), 'en', 'rating', 'ratings')}; "
            f"response rate {rate} ({len(r.csat_scores)} of {r.csat_asked} asked)"
        )
    elif r.csat_asked:
        lines.append(f"CSAT: cannot be computed: no rating yet (0 of {r.csat_asked} asked)")
    else:
        lines.append("CSAT: cannot be computed: nobody was asked to rate")
    if r.quality is not None:
        lines.extend(quality_lines(r.quality))
    if r.comments:
        lines.append("Rating comments (newest first):")
        for when, score, text in r.comments[:limit_comments]:
            rated = f"{score}/5" if score is not None else "not rated"
            lines.append(f"  {when:%Y-%m-%d} {rated}: {' '.join(text.split())[:300]}")
        if len(r.comments) > limit_comments:
            lines.append(f"  … and {len(r.comments) - limit_comments} more (--csv has all)")
    if r.thumbs_up or r.thumbs_down:
        lines.append(f"Answer feedback: 👍 {r.thumbs_up}, 👎 {r.thumbs_down}")
    else:
        lines.append("Answer feedback: none recorded (👍/👎 buttons show in KB_MODE=strict)")
    if r.gaps:
        lines.append("Questions the knowledge base did not cover (most frequent first):")
        for question, count in r.gaps[:limit_gaps]:
            lines.append(f"  {count} × {question[:200]}")
    else:
        lines.append("Questions the knowledge base did not cover: none recorded")
    lines.extend(_jobs_lines(r.jobs))
    return "\n".join(lines)


def _jobs_lines(jobs: list[JobCount]) -> list[str]:
    """Deferred model jobs (summaries, tags, FAQ drafts, gap labels) by kind and outcome."""
    if not jobs:
        return ["Deferred model jobs: none in the period"]
    lines = ["Deferred model jobs (asynchronous mode):"]
    for kind in sorted({j.kind for j in jobs}):
        mine = [j for j in jobs if j.kind == kind]
        states = ", ".join(f"{j.status} {j.jobs}" for j in sorted(mine, key=lambda j: j.status))
        tokens_in = sum(j.input_tokens for j in mine)
        tokens_out = sum(j.output_tokens for j in mine)
        lines.append(f"  {kind}: {states}; tokens {tokens_in} in, {tokens_out} out")
    return lines


CSV_FIELDS = (
    "conversation", "user_id", "opened_at", "outcome", "status", "handoff_reason", "handoff_at",
    "first_reply_seconds", "resolved_at", "resolution", "csat", "csat_comment", "questions",
    "not_found", "thumbs_up", "thumbs_down",
    # Issue 26: what the model said about the case (empty when DESK_INSIGHTS=off).
    "summary", "intent", "intent_confidence", "sentiment", "sentiment_confidence",
    "language_tag", "language_confidence", "final_summary",
    # Issue 66: the conversation's quality score (empty until it is scored).
    "qa", "qa_score", "qa_resolved", "qa_verified", "qa_breach",
)


def write_csv(r: Report, path: Path) -> int:
    """One row per conversation; returns the number of rows."""
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.DictWriter(out, fieldnames=CSV_FIELDS)
        writer.writeheader()
        writer.writerows(r.rows)
    return len(r.rows)
