"""The judge checked against people: where the conversation scorer and a person disagree,
and how often they agree, per week.

A person's signal on a scored conversation: the customer's CSAT (1-2 says it was not
resolved, 4-5 that it was; 3 says neither), an operator's /close (resolved), and the lead's
own verdict given in the console. A conversation with at least one signal counts in its week;
it agrees when every signal says what the scorer said. Bounded: at most `LIMIT` scored
conversations and as many verdicts are read."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.features.console.models import ConsoleVerdict
from bot.plugin.offers import CaseFacts, ScoredCase, ScoredCases
from bot.plugin.storage import Conversation, Message

LIMIT = 5000
SHOWN = 100


@dataclass(frozen=True, slots=True)
class Disagreement:
    at: dt.datetime
    conversation_id: int | None
    who: str  # "customer", "operator", "lead"
    said: str  # what the person said of it
    scorer: str  # what the scorer said
    evidence: str = ""


@dataclass(slots=True)
class Week:
    start: dt.date
    judged: int = 0
    agreed: int = 0

    @property
    def rate(self) -> float | None:
        return self.agreed / self.judged if self.judged else None


@dataclass(frozen=True, slots=True)
class Agreement:
    weeks: list[Week]
    disagreements: list[Disagreement] = field(default_factory=list)
    total: int = 0  # disagreements found (the page shows SHOWN)


def week_of(when: dt.datetime | dt.date) -> dt.date:
    day = when.date() if isinstance(when, dt.datetime) else when
    return day - dt.timedelta(days=day.weekday())


def _scorer(resolved: bool, score: int | None) -> str:
    said = "resolved" if resolved else "not resolved"
    return f"{said}, score {score}/5" if score is not None else said


def signals(case: ScoredCase) -> list[tuple[str, str, bool]]:
    """(who, what they said, whether it says resolved) of each person's signal."""
    found = []
    if case.csat is not None and case.csat != 3:
        found.append(("customer", f"rated it {case.csat} of 5", case.csat >= 4))
    if case.closed_by_operator:
        found.append(("operator", "closed it as resolved (/close)", True))
    return found


async def agreement(
    session: AsyncSession, scored: ScoredCases, facts: CaseFacts | None, weeks: int,
    today: dt.date,
) -> Agreement:
    first = week_of(today) - dt.timedelta(weeks=weeks - 1)
    since = dt.datetime.combine(first, dt.time(), tzinfo=dt.UTC)
    by_week = {first + dt.timedelta(weeks=i): Week(first + dt.timedelta(weeks=i))
               for i in range(weeks)}
    cases = await scored.read(session, since, LIMIT)
    conversations = await _conversations_of(session, cases)
    found: list[Disagreement] = []
    for case in cases:
        said = signals(case)
        if not said:
            continue
        week = by_week.get(week_of(case.opened_at))
        disagree = [s for s in said if s[2] != case.scored_resolved]
        if week is not None:
            week.judged += 1
            week.agreed += not disagree
        found += [Disagreement(case.opened_at, conversations.get(case.case_id), who, what,
                               _scorer(case.scored_resolved, case.score), case.evidence)
                  for who, what, _ in disagree]
    found += await _lead_verdicts(session, facts, since, by_week)
    found.sort(key=lambda d: d.at, reverse=True)
    return Agreement(list(by_week.values()), found[:SHOWN], len(found))


async def _lead_verdicts(
    session: AsyncSession, facts: CaseFacts | None, since: dt.datetime,
    by_week: dict[dt.date, Week],
) -> list[Disagreement]:
    """The lead's verdicts against the scorer's reading of the same conversation."""
    if facts is None:
        return []
    verdicts = list(await session.scalars(
        select(ConsoleVerdict).where(ConsoleVerdict.at >= since)
        .order_by(ConsoleVerdict.at.desc()).limit(LIMIT)))
    if not verdicts:
        return []
    ids = [v.conversation_id for v in verdicts]
    spans = await session.execute(
        select(Message.conversation_id, Conversation.chat_id, func.min(Message.created_at),
               func.max(Message.created_at))
        .join(Conversation, Conversation.id == Message.conversation_id)
        .where(Message.conversation_id.in_(ids))
        .group_by(Message.conversation_id, Conversation.chat_id))
    known = await facts.read(session, [(int(c), int(chat), _utc(a), _utc(b))
                                       for c, chat, a, b in spans])
    found = []
    for verdict in verdicts:
        fact = known.get(verdict.conversation_id)
        if fact is None or fact.scored_resolved is None:
            continue  # the scorer has not read it (yet): nothing to compare
        week = by_week.get(week_of(verdict.at))
        agrees = fact.scored_resolved == verdict.resolved
        if week is not None:
            week.judged += 1
            week.agreed += agrees
        if not agrees:
            found.append(Disagreement(
                verdict.at, verdict.conversation_id, "lead",
                "resolved" if verdict.resolved else "not resolved",
                _scorer(fact.scored_resolved, fact.score), "; ".join(fact.evidence)))
    return found


async def _conversations_of(
    session: AsyncSession, cases: Sequence[ScoredCase]
) -> dict[int, int]:
    """Each case's conversation: its customer's newest conversation opened by the time the
    case was (a conversation may hold several cases)."""
    users = sorted({c.user_id for c in cases})
    if not users:
        return {}
    rows = await session.execute(
        select(Conversation.id, Conversation.chat_id, Conversation.opened_at)
        .where(Conversation.chat_id.in_(users)).order_by(Conversation.opened_at.desc())
        .limit(LIMIT * 4))
    by_chat: dict[int, list[tuple[int, dt.datetime]]] = {}
    for cid, chat_id, opened in rows:
        by_chat.setdefault(chat_id, []).append((cid, _utc(opened)))
    found = {}
    slack = dt.timedelta(minutes=1)
    for case in cases:
        options = by_chat.get(case.user_id, [])
        match = next((cid for cid, opened in options if opened <= case.opened_at + slack),
                     options[-1][0] if options else None)
        if match is not None:
            found[case.case_id] = match
    return found


async def set_verdict(
    session: AsyncSession, conversation_id: int, user_id: int, resolved: bool
) -> None:
    found = await session.get(ConsoleVerdict, conversation_id)
    if found is None:
        session.add(ConsoleVerdict(conversation_id=conversation_id, user_id=user_id,
                                   resolved=resolved))
    else:
        found.user_id, found.resolved = user_id, resolved
        found.at = dt.datetime.now(dt.UTC)


async def verdict_of(session: AsyncSession, conversation_id: int) -> bool | None:
    found = await session.get(ConsoleVerdict, conversation_id)
    return None if found is None else found.resolved


def _utc(value: dt.datetime | str) -> dt.datetime:
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)
