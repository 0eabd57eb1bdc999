"""The desk's facts of conversations, as the console asks for them (`CaseFacts`): for each
conversation's span, the newest case of its customer over that span, with its handoff,
closing, rating and score; and the scorer's verdicts with what people said (`ScoredCases`),
to check the judge against people."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.features.desk.storage.insights_models import DeskInsight, DeskScore, ScoreStatus
from bot.features.desk.storage.models import DeskCase, DeskNote, DeskStatus
from bot.plugin.offers import CaseFact, CaseNote, ChatSpan, ScoredCase

#: The most cases one call reads (the console asks for a bounded page of conversations).
MAX_CASES = 20_000


async def case_facts(session: AsyncSession, spans: Sequence[ChatSpan]) -> dict[int, CaseFact]:
    if not spans:
        return {}
    users = sorted({chat_id for _, chat_id, _, _ in spans if chat_id > 0})
    if not users:
        return {}
    latest = max(end for _, _, _, end in spans)
    # Plain columns, not ORM objects: a busy day asks about a couple of thousand customers.
    rows = await session.execute(
        select(DeskCase.user_id, DeskCase.opened_at, DeskCase.resolved_at, DeskCase.status,
               DeskCase.handoff_at, DeskCase.handoff_reason, DeskCase.resolution,
               DeskCase.csat_score, DeskCase.csat_comment, DeskScore.status, DeskScore.score,
               DeskScore.resolved, DeskScore.evidence_line, DeskScore.evidence,
               DeskScore.breach, DeskInsight.intent)
        .outerjoin(DeskScore, DeskScore.case_id == DeskCase.id)
        .outerjoin(DeskInsight, DeskInsight.case_id == DeskCase.id)
        .where(DeskCase.user_id.in_(users), DeskCase.opened_at <= latest)
        .order_by(DeskCase.id.desc())
        .limit(MAX_CASES)
    )
    by_user: dict[int, list[Any]] = {}
    for row in rows:
        by_user.setdefault(row[0], []).append(row)
    found: dict[int, CaseFact] = {}
    for key, chat_id, start, end in spans:
        for row in by_user.get(chat_id, ()):
            if row[1] <= end and (row[2] is None or row[2] >= start):
                found[key] = _fact(row)
                break
    return found


def _fact(row: Any) -> CaseFact:
    (_, _, resolved_at, status, handoff_at, reason, resolution, csat, comment, score_status,
     score, scored_resolved, evidence_line, evidence_text, breach, intent) = row
    scored = score_status is ScoreStatus.SCORED
    handed_off = handoff_at is not None
    evidence: tuple[str, ...] = ()
    if evidence_text:
        evidence = ((f"line {evidence_line}: " if evidence_line else "") + evidence_text,)
    if breach:
        evidence += (f"breach: {breach}",)
    return CaseFact(
        handed_off=handed_off,
        handoff_reason=reason.value if reason else None,
        resolved=status is DeskStatus.RESOLVED if resolved_at is not None else None,
        resolution=resolution,
        csat=csat,
        csat_comment=comment,
        score=score if scored else None,
        scored_resolved=scored_resolved if scored else None,
        verified=bool(scored and scored_resolved and not handed_off),
        evidence=evidence,
        intent=intent or None,
    )


async def scored_cases(
    session: AsyncSession, since: dt.datetime, limit: int
) -> list[ScoredCase]:
    """The cases scored since `since` (by when they opened), the newest first."""
    rows = await session.execute(
        select(DeskCase.id, DeskCase.user_id, DeskCase.opened_at, DeskScore.resolved,
               DeskScore.score, DeskCase.csat_score, DeskCase.resolution, DeskCase.status,
               DeskScore.evidence_line, DeskScore.evidence)
        .join(DeskScore, DeskScore.case_id == DeskCase.id)
        .where(DeskCase.opened_at >= since, DeskScore.status == ScoreStatus.SCORED,
               DeskScore.resolved.is_not(None))
        .order_by(DeskCase.opened_at.desc(), DeskCase.id.desc())
        .limit(limit)
    )
    found = []
    for case_id, user_id, opened_at, resolved, score, csat, resolution, status, line, text in rows:
        evidence = ((f"line {line}: " if line else "") + text) if text else ""
        found.append(ScoredCase(
            case_id, user_id, opened_at, bool(resolved), score, csat,
            closed_by_operator=resolution == "closed" and status is DeskStatus.RESOLVED,
            evidence=evidence))
    return found


#: The most notes one call reads.
MAX_NOTES = 2000


async def case_notes(
    session: AsyncSession, spans: Sequence[ChatSpan]
) -> dict[int, list[CaseNote]]:
    """The notes of the cases over each span (a case over it, as `case_facts` finds it)."""
    users = sorted({chat_id for _, chat_id, _, _ in spans if chat_id > 0})
    if not users:
        return {}
    latest = max(end for _, _, _, end in spans)
    rows = await session.execute(
        select(DeskCase.user_id, DeskCase.opened_at, DeskCase.resolved_at,
               DeskNote.created_at, DeskNote.author, DeskNote.text)
        .join(DeskNote, DeskNote.case_id == DeskCase.id)
        .where(DeskCase.user_id.in_(users), DeskCase.opened_at <= latest)
        .order_by(DeskNote.created_at, DeskNote.id)
        .limit(MAX_NOTES)
    )
    found: dict[int, list[CaseNote]] = {}
    for user_id, opened, resolved, at, author, text in rows:
        for key, chat_id, start, end in spans:
            if chat_id == user_id and opened <= end and (resolved is None or resolved >= start):
                found.setdefault(key, []).append(CaseNote(at, author, text))
    return found
