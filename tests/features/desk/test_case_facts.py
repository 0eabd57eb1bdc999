"""What the desk tells the console of a conversation (`CaseFacts`, issue 80): the newest case
of its customer over the conversation's span, with its handoff, closing, rating, score and
intent tag."""

from __future__ import annotations

import datetime as dt

from bot.features.desk.storage.facts import case_facts
from bot.features.desk.storage.insights_models import DeskInsight, DeskScore, ScoreStatus
from bot.features.desk.storage.models import DeskCase, DeskStatus, HandoffReason
from bot.plugin.offers import CaseFact
from bot.storage.database import Database

T0 = dt.datetime(2026, 11, 20, 9, 0, tzinfo=dt.UTC)


def at(hours: float) -> dt.datetime:
    return T0 + dt.timedelta(hours=hours)


async def test_each_span_gets_the_case_over_it(database: Database) -> None:
    async with database.sessionmaker() as session:
        session.add_all([
            # Anna: a bot-only case scored resolved (verified), then a handed-off one rated 2.
            DeskCase(id=1, user_id=11, status=DeskStatus.RESOLVED, opened_at=at(0),
                     last_user_at=at(1), resolved_at=at(2), resolution="idle"),
            DeskCase(id=2, user_id=11, status=DeskStatus.RESOLVED, opened_at=at(24),
                     last_user_at=at(25), handoff_at=at(24.5),
                     handoff_reason=HandoffReason.USER_REQUEST, resolved_at=at(26),
                     resolution="closed", csat_score=2, csat_comment="slow"),
            # Boris: still open.
            DeskCase(id=3, user_id=12, status=DeskStatus.BOT, opened_at=at(0),
                     last_user_at=at(0)),
        ])
        await session.flush()
        session.add_all([
            DeskScore(case_id=1, status=ScoreStatus.SCORED, resolved=True, score=5),
            DeskScore(case_id=2, status=ScoreStatus.SCORED, resolved=False, score=2,
                      evidence_line=4, evidence="the order is still missing"),
            DeskInsight(case_id=2, intent="refund"),
        ])
        await session.commit()
        found = await case_facts(session, [
            (100, 11, at(0.5), at(1)), (101, 11, at(24.2), at(25)), (102, 12, at(0), at(3)),
            (103, 13, at(0), at(3)),  # a customer with no case
            (104, -100500, at(0), at(3)),  # a group: no case is a group's
        ])
    assert found[100] == CaseFact(resolved=True, resolution="idle", score=5,
                                  scored_resolved=True, verified=True)
    assert found[101] == CaseFact(
        handed_off=True, handoff_reason="user_request", resolved=True, resolution="closed",
        csat=2, csat_comment="slow", score=2, scored_resolved=False, verified=False,
        evidence=("line 4: the order is still missing",), intent="refund")
    assert found[102] == CaseFact(resolved=None)
    assert set(found) == {100, 101, 102}


async def test_operators_notes_go_with_their_case(database: Database) -> None:
    from sqlalchemy import func, select

    from bot.features.desk.storage.erasure import DeskErasureRepository
    from bot.features.desk.storage.facts import case_notes
    from bot.features.desk.storage.models import DeskNote

    async with database.sessionmaker() as session:
        session.add(DeskCase(id=7, user_id=21, status=DeskStatus.WITH_OPERATOR,
                             opened_at=at(0), last_user_at=at(1), handoff_at=at(0.5)))
        await session.flush()
        session.add_all([DeskNote(case_id=7, author="Olga", text="check the warehouse",
                                  created_at=at(0.6)),
                         DeskNote(case_id=7, author="Ivan", text="refund approved",
                                  created_at=at(0.7))])
        await session.commit()
        notes = await case_notes(session, [(1, 21, at(0), at(1)), (2, 22, at(0), at(1))])
        assert {k: [(n.author, n.text) for n in v] for k, v in notes.items()} == {
            1: [("Olga", "check the warehouse"), ("Ivan", "refund approved")]}
        await DeskErasureRepository(session).erase_cases(DeskCase.user_id == 21)
        await session.commit()
        assert await session.scalar(select(func.count()).select_from(DeskNote)) == 0
