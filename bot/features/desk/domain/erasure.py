"""Erasing the desk's records: a user's on /forget, and everyone's old conversations under the
retention setting (what to delete in the support chat comes back to the Telegram side)."""

from __future__ import annotations

import datetime as dt
import logging

from sqlalchemy import and_, or_

from bot.features.desk.domain.state import DeskState
from bot.features.desk.domain.views import Purge
from bot.features.desk.storage.cases import DeskRepository
from bot.features.desk.storage.erasure import DeskErasureRepository
from bot.features.desk.storage.models import DeskCase, DeskStatus

log = logging.getLogger(__name__)


class Erasure:
    def __init__(self, state: DeskState) -> None:
        self.state = state

    async def forget(self, user_id: int) -> int | None:
        """/forget: delete the user's cases, relays, turns and ratings (counted), and their
        topic record; returns the topic to delete in the support chat, if any."""
        async with self.state.serialized(user_id) as session:
            repo = DeskRepository(session)
            topic = await repo.topic(user_id)
            await DeskErasureRepository(session).erase_cases(DeskCase.user_id == user_id)
            await repo.drop_topic(user_id)
            await session.commit()
        self.state.set_owned(user_id, False)
        self.state.set_commenting(user_id, False)
        return topic.thread_id if topic is not None else None

    async def draft_messages_of(self, user_id: int) -> list[int]:
        """The "Knowledge base" topic's messages of the user's unreviewed FAQ drafts, to
        delete with them on /forget."""
        async with self.state.sessionmaker() as session:
            return await DeskErasureRepository(session).draft_messages(DeskCase.user_id == user_id)

    async def purge_older_than(self, days: int) -> Purge:
        """Retention: conversations over (resolved, or the bot's and quiet) before the cutoff
        go, counted; returns what to delete in the support chat: the topics left without any
        conversation, and the messages those conversations left in topics that stay."""
        cutoff = self.state.clock() - dt.timedelta(days=days)
        condition = or_(
            and_(DeskCase.status == DeskStatus.RESOLVED, DeskCase.resolved_at < cutoff),
            and_(DeskCase.status == DeskStatus.BOT, DeskCase.last_user_at < cutoff),
        )
        async with self.state.sessionmaker() as session:
            repo, erasure = DeskRepository(session), DeskErasureRepository(session)
            messages = await erasure.support_messages(condition)
            drafts = await erasure.draft_messages(condition)  # in the KB topic
            count, users = await erasure.erase_cases(condition)
            remaining = await erasure.users_with_cases(users)
            topics = []
            for user in users - remaining:
                topic = await repo.topic(user)
                if topic is not None:
                    topics.append((user, topic.thread_id))
                    await repo.drop_topic(user)
            await session.commit()
        if count:
            log.info("retention: removed %d support conversations older than %d days", count, days)
        gone = {user for user, _ in topics}
        return Purge(topics, sorted([m for user, m in messages if user not in gone] + drafts))
