"""Two replicas' desk services on one database: who a person owns and who is to write a rating
comment are seen by both, whichever replica changed them (with `shared`); a single process's
service keeps them in memory and cannot see another's changes (the control)."""

from __future__ import annotations

from bot.desk import DeskService, Requester
from bot.storage.database import Database
from bot.storage.models import HandoffReason

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
    await a.set_topic(ANNA.user_id, 77)
    ended = await b.close(handoff.case.id, ask_rating=True)
    assert ended is not None
    assert not await a.is_owned(ANNA.user_id)
    assert await b.rate(handoff.case.id, ANNA.user_id, 5)
    assert await a.want_comment(handoff.case.id, ANNA.user_id)
    assert await b.is_commenting(ANNA.user_id)
    assert not await alone.is_commenting(ANNA.user_id)
    assert await b.take_comment(ANNA.user_id, "Quick, thanks")
    assert not await a.is_commenting(ANNA.user_id)
    assert not await b.take_comment(ANNA.user_id, "and again")  # stored once
