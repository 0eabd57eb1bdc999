"""The desk's facts of conversations, as the console asks for them (`CaseFacts`): for each
conversation's span, the newest case of its customer over that span, with its handoff,
closing, rating and score."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.features.desk.storage.insights_models import DeskScore, ScoreStatus
from bot.features.desk.storage.models import DeskCase, DeskStatus
from bot.plugin.offers import CaseFact, ChatSpan

#: The most cases one call reads (the console asks for a bounded page of conversations).
MAX_CASES = 20_000


async def case_facts(session: AsyncSession, spans: Sequence[ChatSpan]) -> dict[int, CaseFact]:
    if not spans:
        return {}
    users = sorted({chat_id for _, chat_id, _, _ in spans if chat_id > 0})
    if not users:
        return {}
    latest = max(end for _, _, _, end in spans)
    rows = await session.execute(
        select(DeskCase, DeskScore)
        .outerjoin(DeskScore, DeskScore.case_id == DeskCase.id)
        .where(DeskCase.user_id.in_(users), DeskCase.opened_at <= latest)
        .order_by(DeskCase.id.desc())
        .limit(MAX_CASES)
    )
    by_user: dict[int, list[tuple[DeskCase, DeskScore | None]]] = {}
    for found_case, found_score in rows:
        by_user.setdefault(found_case.user_id, []).append((found_case, found_score))
    found: dict[int, CaseFact] = {}
    for key, chat_id, start, end in spans:
        for case, score in by_user.get(chat_id, ()):
            if case.opened_at <= end and (case.resolved_at is None or case.resolved_at >= start):
                found[key] = _fact(case, score)
                break
    return found


def _fact(case: DeskCase, score: DeskScore | None) -> CaseFact:
    scored = score is not None and score.status is ScoreStatus.SCORED
    handed_off = case.handoff_at is not None
    evidence: tuple[str, ...] = ()
    if score is not None and score.evidence:
        line = f"line {score.evidence_line}: " if score.evidence_line else ""
        evidence = (line + score.evidence,)
    if score is not None and score.breach:
        evidence += (f"breach: {score.breach}",)
    return CaseFact(
        handed_off=handed_off,
        handoff_reason=case.handoff_reason.value if case.handoff_reason else None,
        resolved=case.status is DeskStatus.RESOLVED if case.resolved_at is not None else None,
        resolution=case.resolution,
        csat=case.csat_score,
        csat_comment=case.csat_comment,
        score=score.score if scored and score is not None else None,
        scored_resolved=score.resolved if scored and score is not None else None,
        verified=bool(scored and score is not None and score.resolved and not handed_off),
        evidence=evidence,
    )
