"""Issue 27, item 2: a support chat without Topics never strands a user. Nobody is told they
were handed over when no person can see them: they hear it failed, the bot keeps answering,
admins are alerted, and turning Topics on works without a restart."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import select

from bot.features.desk.storage.models import DeskCase, DeskRelay, DeskStatus, RelayState
from bot.storage.database import Database
from tests.features.desk.harness import SUPPORT, DeskWorld, desk_world

pytestmark = pytest.mark.timeout(120)

ADMIN = 9001
HANDED_OVER = "I have passed your conversation"


def echoed(w: DeskWorld, user: int, text: str) -> bool:
    """The bot answered `text` (the fake Yandex echoes the question)."""
    return any(t.startswith(f"Echo: {text}") for t in w.texts(user))


async def _cases(w: DeskWorld) -> list[DeskCase]:
    async with w.db.sessionmaker() as session:
        return list(await session.scalars(select(DeskCase)))


@pytest.mark.slow
async def test_a_plain_supergroup_refuses_handoffs_and_the_bot_keeps_answering(
    sqlite_database: Database, caplog: pytest.LogCaptureFixture
) -> None:
    async with desk_world(sqlite_database, forum=False, admins=(ADMIN,)) as w:
        # Said plainly at start, in the log and to the admins.
        assert any("cannot take handoffs" in r.getMessage() and "Topics" in r.getMessage()
                   for r in caplog.records)
        alert = await w.wait_for(lambda: [t for t in w.texts(ADMIN) if str(SUPPORT) in t])
        assert "Topics" in alert[0]
        user = 7101
        w.tg.send_user_message(user, "/operator")
        told = await w.wait_for(lambda: [t for t in w.texts(user) if "support team" in t])
        assert "no person would see" in told[0]
        assert not any(HANDED_OVER in t for t in w.texts(user))
        assert w.tg.calls_for(SUPPORT, "createForumTopic") == []
        # The conversation stays with the bot: the next message is answered.
        w.tg.send_user_message(user, "what are your opening hours?")
        await w.wait_for(lambda: echoed(w, user, "what are your opening hours?"))
        assert not [c for c in await _cases(w) if c.status is DeskStatus.WAITING]
        # Russian users are told in Russian.
        w.tg.send_user_message(7102, "/operator", language_code="ru")
        await w.wait_for(lambda: any("поддержк" in t for t in w.texts(7102)))


@pytest.mark.slow
async def test_a_chat_that_loses_topics_gives_the_handoff_back_and_says_so(
    sqlite_database: Database,
) -> None:
    async with desk_world(sqlite_database, admins=(ADMIN,)) as w:
        w.desk.forum.retry_delay = 0.05
        w.desk.relayer.retry_after = 0.05
        del w.tg.forums[SUPPORT]  # someone turned Topics off after the bot started
        user = 7201
        w.tg.send_user_message(user, "/operator")
        failed = await w.wait_for(
            lambda: [t for t in w.texts(user) if "failed: no person can see it" in t]
        )
        assert failed
        await w.settle()
        # Given up, not retried forever; the admin is alerted; the report says "failed".
        assert len(w.tg.calls_for(SUPPORT, "createForumTopic")) == 1
        assert await w.wait_for(lambda: [t for t in w.texts(ADMIN) if "Topics" in t])
        (case,) = await _cases(w)
        assert (case.status, case.resolution) == (DeskStatus.BOT, "failed")
        assert not w.desk.service.owned(user)
        # The bot answers again.
        w.tg.send_user_message(user, "hello again")
        await w.wait_for(lambda: echoed(w, user, "hello again"))
        async with w.db.sessionmaker() as session:
            assert list(await session.scalars(select(DeskRelay))) == []


async def _relay_states(w: DeskWorld) -> list[RelayState]:
    async with w.db.sessionmaker() as session:
        return [r.state for r in await session.scalars(select(DeskRelay))]


@pytest.mark.slow
async def test_a_message_written_before_the_handoff_fails_is_not_retried_forever(
    sqlite_database: Database,
) -> None:
    async with desk_world(sqlite_database) as w:
        w.desk.forum.retry_delay = 0.3
        w.desk.relayer.retry_after = 0.05
        w.tg.forums[SUPPORT] = False  # no "Manage topics" right yet: retried, not given up
        user = 7301
        w.tg.send_user_message(user, "/operator")
        await w.wait_for(lambda: any(HANDED_OVER in t for t in w.texts(user)))
        w.tg.send_user_message(user, "are you there?")
        async with asyncio.timeout(10):
            while not await _relay_states(w):  # noqa: ASYNC110 - a database row
                await asyncio.sleep(0.02)
        del w.tg.forums[SUPPORT]  # and then Topics are turned off
        await w.wait_for(lambda: any("failed: no person can see it" in t for t in w.texts(user)))
        async with asyncio.timeout(10):
            while await _relay_states(w) != [RelayState.FAILED]:  # noqa: ASYNC110
                await asyncio.sleep(0.05)
        await w.settle()
        assert w.topic_of(user) is None


async def test_turning_topics_on_needs_no_restart(sqlite_database: Database) -> None:
    async with desk_world(sqlite_database, forum=False) as w:
        w.desk.support_chat.recheck_after = 0.0
        user = 7401
        w.tg.send_user_message(user, "/operator")
        await w.wait_for(lambda: any("no person would see" in t for t in w.texts(user)))
        w.tg.add_forum(SUPPORT)  # an admin turns Topics on
        w.tg.send_user_message(user, "/operator")
        await w.wait_for(lambda: any(HANDED_OVER in t for t in w.texts(user)))
        thread = await w.wait_for(lambda: w.topic_of(user))
        await w.wait_for(lambda: w.in_topic(thread))  # the card


async def test_a_support_chat_that_does_not_exist_is_blamed_on_the_id_not_on_topics(
    sqlite_database: Database, caplog: pytest.LogCaptureFixture
) -> None:
    """`run` used to say "turn Topics on" for a SUPPORT_CHAT_ID Telegram does not know, where
    `fmbot check` rightly says the chat is not found."""
    async with desk_world(sqlite_database, forum=None, admins=(ADMIN,)) as w:
        said = next(r.getMessage() for r in caplog.records
                    if "cannot take handoffs" in r.getMessage())
        assert "chat not found" in said
        assert "check SUPPORT_CHAT_ID" in said
        assert "Topics" not in said
        alert = await w.wait_for(lambda: [t for t in w.texts(ADMIN) if str(SUPPORT) in t])
        assert "check SUPPORT_CHAT_ID" in alert[0]
        assert "Topics" not in alert[0]
