"""DeskService and the report on a migrated database (SQLite, and PostgreSQL when reachable)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from bot.features.desk.domain import DeskService, Requester, SupportHours
from bot.features.desk.domain.figures import figures_reader
from bot.features.desk.domain.report import IDLE, build_report, format_report, write_csv
from bot.features.desk.storage.models import DeskStatus, HandoffReason, RelayDirection
from bot.storage.database import Database

SUPPORT = -100123
T0 = dt.datetime(2026, 11, 23, 10, 0, tzinfo=dt.UTC)  # a Monday


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += dt.timedelta(**delta)


def service(db: Database, clock: Clock) -> DeskService:
    return DeskService(db.sessionmaker, support_chat_id=SUPPORT, clock=clock)


async def test_handoff_is_never_done_twice_and_the_relay_records_are_unique(
    database: Database,
) -> None:
    clock = Clock()
    desk = service(database, clock)
    anna = Requester(11, "Anna", "en")
    first = await desk.hand_over(anna, HandoffReason.USER_REQUEST)
    again = await desk.hand_over(anna, HandoffReason.KB_MISS)
    assert first.started
    assert not again.started
    assert again.case.reason is HandoffReason.USER_REQUEST
    assert desk.owned(11)
    await desk.cases.set_topic(11, 77)
    relay = await desk.relays.relay_from_user(11, 11, 500)
    assert relay is not None
    assert relay.thread_id == 77
    assert await desk.relays.relay_from_user(11, 11, 500) is None  # the same message: once
    assert [r.id for r in await desk.relays.pending_relays()] == [relay.id]
    await desk.relays.relays_done([(relay.id, 9001)])
    assert await desk.relays.pending_relays() == []
    # The first operator reply moves the conversation to with_operator.
    clock.advance(minutes=5)
    out = await desk.relays.relay_from_operator(77, 12)
    assert out is not None
    assert out.direction is RelayDirection.TO_USER
    view = await desk.cases.case_for_thread(77)
    assert view is not None
    assert view.status is DeskStatus.WITH_OPERATOR
    # A fresh service (a restart) knows who is owned.
    restarted = service(database, clock)
    await restarted.load()
    assert restarted.owned(11)


async def test_not_found_streak_idle_conversations_and_one_rating(database: Database) -> None:
    clock = Clock()
    desk = service(database, clock)
    boris = Requester(12, "Борис", "ru")
    one = await desk.note_turn(boris, "гарантия?", not_found=True)
    two = await desk.note_turn(boris, "а возврат?", not_found=False)
    three = await desk.note_turn(boris, "доставка?", not_found=True)
    four = await desk.note_turn(boris, "а в Казань?", not_found=True)
    assert [one.hand_over, two.hand_over, three.hand_over, four.hand_over] == [
        False, False, False, True,
    ]
    assert len({one.case_id, four.case_id}) == 1
    clock.advance(hours=25)  # a day of silence ends a bot conversation
    later = await desk.note_turn(boris, "снова я", not_found=False)
    assert later.case_id != one.case_id
    handoff = await desk.hand_over(boris, HandoffReason.USER_REQUEST)
    closed = await desk.closing.close(handoff.case.id, ask_rating=True)
    assert closed is not None
    assert not desk.owned(12)
    assert await desk.closing.close(handoff.case.id, ask_rating=True) is None
    assert await desk.closing.rate(handoff.case.id, 99, 5) is False  # not theirs
    assert await desk.closing.rate(handoff.case.id, 12, 5) is True
    assert await desk.closing.rate(handoff.case.id, 12, 1) is False  # one rating per conversation
    # Handed back with /bot, then over again: a second conversation with its own times.
    second = await desk.hand_over(boris, HandoffReason.USER_REQUEST)
    assert second.case.id != handoff.case.id
    assert await desk.closing.give_back(second.case.id) is not None
    third = await desk.hand_over(boris, HandoffReason.USER_REQUEST)
    assert third.started
    assert third.case.id != second.case.id


async def test_report_figures_and_csv(database: Database, tmp_path: Path) -> None:
    clock = Clock()
    desk = service(database, clock)
    # 1: resolved by the bot, confirmed by a thanks.
    a = Requester(21, "A")
    paid = await desk.note_turn(a, "how to pay?", not_found=False)
    await desk.note_thanks(a)
    assert await desk.feedback(paid.turn_id, 99, 1) is False  # not their answer
    assert await desk.feedback(paid.turn_id, 21, -1) is True
    assert await desk.feedback(paid.turn_id, 21, 1) is True  # the last press counts
    # 2: resolved by the bot, assumed (a day of silence).
    await desk.note_turn(Requester(22, "B"), "opening hours?", not_found=False)
    # 3 and 4: not found twice -> handed over; one answered in 10 min and closed, rated 4.
    c = Requester(23, "C")
    await desk.note_turn(c, "Refund for a broken phone?", not_found=True)
    await desk.note_turn(c, "refund, broken phone", not_found=True)
    h1 = await desk.hand_over(c, HandoffReason.KB_MISS)
    await desk.cases.set_topic(23, 5)
    d = Requester(24, "D")
    await desk.note_turn(d, "Refund for a broken phone", not_found=True)
    await desk.hand_over(d, HandoffReason.USER_REQUEST)
    clock.advance(minutes=10)
    await desk.relays.relay_from_operator(5, 100)
    clock.advance(minutes=20)
    await desk.closing.close(h1.case.id, ask_rating=True)
    await desk.closing.rate(h1.case.id, 23, 4)
    clock.advance(hours=30)
    hours = SupportHours.parse("Mon-Fri 09:00-18:00")
    report = await build_report(database.sessionmaker, days=7, hours=hours, now=clock.now)
    assert report.conversations == 4
    assert (report.bot_confirmed, report.bot_assumed, report.still_open) == (1, 1, 0)
    assert report.by_reason == {"kb_miss": 1, "user_request": 1}
    assert report.first_reply_wall == [600.0]
    assert report.first_reply_hours == [600.0]
    assert report.waiting_now == 1
    assert report.resolution == [1800.0]
    assert (report.csat_scores, report.csat_asked) == ([4], 1)
    # Three wordings of one question group together; the first wording names the group.
    assert report.gaps == [("Refund for a broken phone?", 3)]
    text = format_report(report)
    assert "Resolved by the bot: 2 (confirmed by a thanks or 👍: 1;" in text
    assert "First operator reply, wall clock: median 10 min 0 s, p90 10 min 0 s" in text
    assert "CSAT: 4.00 of 5 from 1 rating; response rate 100% (1 of 1 asked)" in text
    assert "3 × Refund for a broken phone?" in text
    assert "Answer feedback: 👍 1, 👎 0" in text
    assert write_csv(report, tmp_path / "r.csv") == 4
    # The console's live figures read the same cases as plain rows: the same days, the same
    # figures, the same gaps (each ends now; the days holding cases do not move).
    span = (dt.datetime.now(dt.UTC) - T0).days + 8
    per_day, gaps = await figures_reader(database.sessionmaker, lambda: hours, IDLE)(span)
    wide = await build_report(database.sessionmaker, days=span, hours=hours)
    assert wide.quality is not None
    assert [(d.day, d.conversations, d.handed_over, d.verified_rate, d.csat, d.score)
            for d in per_day if d.conversations] == [
        (d.day, d.conversations, d.handed_over, d.verified_rate, d.csat_average, d.mean_score)
        for d in wide.quality.days if d.conversations]
    assert sum(d.conversations for d in per_day) == 4
    assert gaps == wide.gaps == [("Refund for a broken phone?", 3)]
    # Erasure keeps only a count.
    await desk.erasure.forget(23)
    again = await build_report(database.sessionmaker, days=7, hours=hours, now=clock.now)
    assert (again.conversations, again.deleted) == (3, 1)
    assert "(+1 deleted since, counted only)" in format_report(again)


async def test_empty_period_says_what_cannot_be_computed(database: Database) -> None:
    report = await build_report(database.sessionmaker, days=1, hours=SupportHours.parse(""))
    text = format_report(report)
    assert "Conversations: 0" in text
    assert "cannot be computed: no conversations" in text
    assert "CSAT: cannot be computed: nobody was asked to rate" in text
    assert "Resolution time: cannot be computed" in text
    assert "not set (SUPPORT_HOURS is empty" in text


async def test_retention_deletes_old_conversations_and_orphan_topics(database: Database) -> None:
    clock = Clock()
    desk = service(database, clock)
    old = Requester(31, "Old")
    h = await desk.hand_over(old, HandoffReason.USER_REQUEST)
    await desk.cases.set_topic(31, 9)
    await desk.relays.relay_from_user(31, 31, 1)
    await desk.closing.close(h.case.id, ask_rating=False)
    clock.advance(days=40)
    await desk.note_turn(Requester(32, "New"), "hi", not_found=False)
    purge = await desk.erasure.purge_older_than(30)
    assert purge.topics == [(31, 9)]
    assert purge.messages == []  # the whole topic goes
    report = await build_report(database.sessionmaker, days=60, hours=SupportHours.parse(""),
                                now=clock.now)
    assert (report.conversations, report.deleted) == (1, 1)


async def test_a_question_answered_again_counts_once(database: Database) -> None:
    """/retry or a restart answers a stored question again: its turn is replaced, so the
    report's gaps and the not-found streak count it once."""
    clock = Clock()
    desk = service(database, clock)
    anna = Requester(31, "Anna")
    parcel = "where is my parcel?"
    first = await desk.note_turn(anna, parcel, not_found=True, question_message_id=7)
    again = await desk.note_turn(anna, parcel, not_found=True, question_message_id=7)
    assert again.turn_id == first.turn_id
    assert not again.hand_over, "one question answered twice is not two misses in a row"
    other = await desk.note_turn(anna, "and the refund?", not_found=True, question_message_id=9)
    assert other.hand_over
    report = await build_report(
        database.sessionmaker, days=1, hours=SupportHours.parse(""), now=clock.now
    )
    assert sum(count for _, count in report.gaps) == 2
