"""Two replicas' desk services on one database: who a person owns and who is to write a rating
comment are seen by both, whichever replica changed them (with `shared`); a single process's
service keeps them in memory and cannot see another's changes (the control)."""

from __future__ import annotations

import asyncio

from bot.features.desk.domain import DeskService, Requester
from bot.features.desk.storage.models import HandoffReason
from bot.storage.database import Database

SUPPORT = -1001234567890
ANNA = Requester(11, "Anna", "en")


async def test_ownership_and_comments_are_seen_by_every_replica(database: Database) -> None:
    a = DeskService(database.sessionmaker, support_chat_id=SUPPORT, shared=True)
    b = DeskService(database.sessionmaker, support_chat_id=SUPPORT, shared=True)
    alone = DeskService(database.sessionmaker, support_chat_id=SUPPORT)
    for service in (a, b, alone):
        await service.load()
    assert not await b.is_owned(ANNA.user_id)
    handoff = await a.hand_over(ANNA, HandoffReason.USER_REQUEST)
    assert await b.is_owned(ANNA.user_id)
    assert not await alone.is_owned(ANNA.user_id)  # in memory: it never heard of it
    await a.cases.set_topic(ANNA.user_id, 77)
    ended = await b.closing.close(handoff.case.id, ask_rating=True)
    assert ended is not None
    assert not await a.is_owned(ANNA.user_id)
    assert await b.closing.rate(handoff.case.id, ANNA.user_id, 5)
    assert await a.closing.want_comment(handoff.case.id, ANNA.user_id)
    assert await b.is_commenting(ANNA.user_id)
    assert not await alone.is_commenting(ANNA.user_id)
    assert await b.closing.take_comment(ANNA.user_id, "Quick, thanks")
    assert not await a.is_commenting(ANNA.user_id)
    assert not await b.closing.take_comment(ANNA.user_id, "and again")  # stored once


async def test_two_replicas_handing_over_one_user_at_once_start_one_handoff(
    database: Database,
) -> None:
    """A user's button press on one replica and their second "not found" on another hand
    over at the same moment: one handoff starts (one card, one count), on one case."""
    a = DeskService(database.sessionmaker, support_chat_id=SUPPORT, shared=True)
    b = DeskService(database.sessionmaker, support_chat_id=SUPPORT, shared=True)
    users = [Requester(100 + i, f"User {i}", "en") for i in range(20)]
    # Half of the users have a bot conversation already, half have none yet.
    for who in users[::2]:
        await a.note_turn(who, "hello", not_found=False)
    both = await asyncio.gather(*(
        service.hand_over(who, reason)
        for who in users
        for service, reason in ((a, HandoffReason.USER_REQUEST), (b, HandoffReason.KB_MISS))
    ))
    for i, who in enumerate(users):
        first, second = both[2 * i], both[2 * i + 1]
        assert [first.started, second.started].count(True) == 1, who
        assert first.case.id == second.case.id, who


async def test_two_replicas_ending_one_case_at_once_end_it_once(database: Database) -> None:
    """/close in the topic on one replica and /bot on another at the same moment: one of
    them ends the conversation (one rating request at most), the other finds it ended."""
    a = DeskService(database.sessionmaker, support_chat_id=SUPPORT, shared=True)
    b = DeskService(database.sessionmaker, support_chat_id=SUPPORT, shared=True)
    users = [Requester(200 + i, f"User {i}", "en") for i in range(10)]
    cases = [(await a.hand_over(who, HandoffReason.USER_REQUEST)).case.id for who in users]
    ended = await asyncio.gather(*(
        call for case in cases
        for call in (a.closing.close(case, ask_rating=True), b.closing.give_back(case))
    ))
    for i, case in enumerate(cases):
        assert [ended[2 * i] is None, ended[2 * i + 1] is None].count(False) == 1, case
