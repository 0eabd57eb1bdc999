"""Erasure of one user's data and the retention purge."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select, update

from bot.features.images.models import ImageJob, ImageJobStatus
from bot.features.images.repository import ImageJobRepository
from bot.storage.database import Database
from bot.storage.models import (
    Chat,
    Conversation,
    Message,
    MessageRole,
    User,
)
from bot.storage.repositories import (
    ChatRepository,
    ConversationRepository,
    DailyCounts,
    MessageRepository,
    PrivacyRepository,
    UsageCount,
    UsageRepository,
    UserRepository,
)

ANN, BOB, GROUP = 11, 22, -100500
DAY = dt.date(2026, 11, 1)


async def _seed(database: Database) -> dict[str, int]:
    async with database.session() as session:
        for uid, name in ((ANN, "Ann"), (BOB, "Bob")):
            await UserRepository(session).upsert(uid, name)
            await ChatRepository(session).upsert(uid, "private")
            conv = await ConversationRepository(session).current(uid)
            q = await MessageRepository(session).add(
                conv.id, MessageRole.USER, f"{name} private", author_user_id=uid
            )
            await MessageRepository(session).add(
                conv.id, MessageRole.ASSISTANT, f"to {name}", reply_to_id=q.id
            )
            await ImageJobRepository(session).create(uid, uid, f"{name}'s cat")
            await UsageRepository(session).add(uid, DAY, tokens=10)
            await DailyCounts(session).add(uid, DAY, "pictures", 2)
        await ChatRepository(session).upsert(GROUP, "supergroup", "Team")
        group = await ConversationRepository(session).current(GROUP)
        messages = MessageRepository(session)
        for uid, name in ((ANN, "Ann"), (BOB, "Bob")):
            q = await messages.add(
                group.id,
                MessageRole.USER,
                f"{name} in group",
                author_user_id=uid,
                author_name=name,
            )
            await messages.add(group.id, MessageRole.ASSISTANT, f"re {name}", reply_to_id=q.id)
        return {"group": group.id}


async def _texts(database: Database) -> list[str]:
    async with database.read_session() as session:
        return list(await session.scalars(select(Message.text).order_by(Message.id)))


async def test_forget_user_removes_only_their_data(database: Database) -> None:
    await _seed(database)
    async with database.session() as session:
        report = await PrivacyRepository(session).forget_user(ANN)
    assert report.messages == 4  # private question + answer, group question + answer
    assert report.conversations == 1
    assert (report.usage_days, report.user) == (1, True)
    assert report.features["image_jobs"] == 1
    assert await _texts(database) == ["Bob private", "to Bob", "Bob in group", "re Bob"]
    async with database.read_session() as session:
        assert await session.get(User, ANN) is None
        assert await session.get(Chat, ANN) is None
        assert await session.get(User, BOB) is not None
        assert await UsageRepository(session).for_user(ANN, DAY) == UsageCount()
        assert await UsageRepository(session).for_user(BOB, DAY) == UsageCount(10, 0)
        assert await DailyCounts(session).for_user(ANN, DAY, "pictures") == 0
        assert await DailyCounts(session).for_user(BOB, DAY, "pictures") == 2
        assert [j.user_id for j in await ImageJobRepository(session).unfinished()] == [BOB]


async def test_forget_user_is_all_or_nothing(database: Database) -> None:
    await _seed(database)

    async def forget_then_fail() -> None:
        async with database.session() as session:
            await PrivacyRepository(session).forget_user(ANN)
            raise RuntimeError("crash before commit")

    with pytest.raises(RuntimeError):
        await forget_then_fail()
    assert len(await _texts(database)) == 8


async def test_forget_unknown_user_is_a_no_op(database: Database) -> None:
    async with database.session() as session:
        report = await PrivacyRepository(session).forget_user(12345)
    assert report.user is False
    assert report.messages == report.conversations == 0


async def test_purge_removes_old_closed_conversations_and_old_messages(
    database: Database,
) -> None:
    ids = await _seed(database)
    now = dt.datetime.now(dt.UTC)
    old = now - dt.timedelta(days=40)
    async with database.session() as session:
        await ConversationRepository(session).reset(ANN)  # Ann's private thread closes
        await session.execute(
            update(Conversation).where(Conversation.closed_at.is_not(None)).values(closed_at=old)
        )
        # Bob's group question is old; its answer is new but goes with it.
        await session.execute(
            update(Message).where(Message.text == "Bob in group").values(created_at=old)
        )
        job = await ImageJobRepository(session).create(BOB, BOB, "old finished job")
        await ImageJobRepository(session).set_status(job.id, ImageJobStatus.DELIVERED)
        await session.flush()
        await session.execute(
            update(ImageJob).where(ImageJob.prompt == "old finished job").values(created_at=old)
        )
    async with database.session() as session:
        privacy = PrivacyRepository(session)
        with pytest.raises(ValueError, match="positive"):
            await privacy.purge_older_than(0)
        report = await privacy.purge_older_than(30, now=now)
    assert (report.conversations, report.messages) == (1, 4)
    assert report.features["image_jobs"] == 1
    assert await _texts(database) == ["Bob private", "to Bob", "Ann in group", "re Ann"]
    async with database.read_session() as session:
        open_count = await session.scalar(select(func.count()).select_from(Conversation))
        assert open_count == 3  # Ann's new one, Bob's, the group's
        assert await session.get(Conversation, ids["group"]) is not None
        assert len(await ImageJobRepository(session).unfinished()) == 2
