"""Erasure in the support chat: a user's topic and FAQ drafts on /forget, and under the
retention setting the topics and messages of old conversations (decisions:
bot/features/desk/domain)."""

from __future__ import annotations

import asyncio
import logging

from aiogram.exceptions import TelegramAPIError
from aiogram.methods import DeleteMessages

from bot.features.desk.domain import DeskService
from bot.features.desk.telegram.forum import Forum
from bot.plugin.telegram import Outbox, OutboxError

log = logging.getLogger(__name__)


class DeskErasure:
    def __init__(self, service: DeskService, outbox: Outbox, forum: Forum, chat_id: int) -> None:
        self.service = service
        self.outbox = outbox
        self.forum = forum
        self.chat_id = chat_id

    async def forget(self, user_id: int) -> None:
        """/forget: the user's desk records and their topic in the support chat, and their
        unreviewed FAQ drafts' messages in the "Knowledge base" topic."""
        drafts = await self.service.erasure.draft_messages_of(user_id)
        thread = await self.service.erasure.forget(user_id)
        if thread is not None:
            await self.forum.delete_topic(user_id, thread)
        if drafts:
            try:
                await self.outbox.call(
                    self.chat_id, DeleteMessages(chat_id=self.chat_id, message_ids=drafts[:100])
                )
            except (OutboxError, TelegramAPIError) as exc:
                log.warning("support desk: FAQ drafts of user %s not deleted: %s", user_id, exc)

    async def purge(self, days: int) -> None:
        """Retention in the support chat: topics of users with nothing left are deleted; in
        the others, the cards and relayed messages of the purged conversations."""
        purge = await self.service.erasure.purge_older_than(days)
        for user_id, thread in purge.topics:
            await self.forum.delete_topic(user_id, thread)
        for start in range(0, len(purge.messages), 100):  # deleteMessages takes 1-100 ids
            ids = purge.messages[start : start + 100]
            try:
                await self.outbox.call(
                    self.chat_id, DeleteMessages(chat_id=self.chat_id, message_ids=ids)
                )
            except (OutboxError, TelegramAPIError) as exc:
                log.warning("support desk: %d old messages not deleted: %s", len(ids), exc)

    async def purge_forever(self, days: int, interval: float = 3600.0) -> None:
        while True:
            try:
                await self.purge(days)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("support desk retention failed; retrying in %.0f s", interval)
            await asyncio.sleep(interval)
