"""Past DATABASE_OUTAGE_GRACE, the users waiting on the database are told, once per chat, that
the bot is unavailable and that their questions will be answered when it is back (they still
are: their turns wait in the chat's queue, their updates are delivered again by Telegram).

Up to the grace an outage shows only as delay (bot/storage/outage.py). With several replicas a
chat's waiting question may be seen by more than one of them (a refused update goes to another
replica when Telegram delivers it again): a short lease per chat in Redis makes the notice one
per chat across the cluster; with Redis away too, each replica tells its own chats once.
"""

from __future__ import annotations

import asyncio
import logging

from bot.coordination import CoordinationUnavailableError, Coordinator
from bot.storage.outage import Outage
from bot.telegram.notifier import Notifier
from bot.telegram.texts import Translator

log = logging.getLogger(__name__)

# How long the cluster remembers that a chat was told (one notice per chat per outage).
TOLD_FOR = 600.0


class OutageNotices:
    def __init__(
        self, outage: Outage, notify: Notifier, *, coordinator: Coordinator | None = None,
        owner: str = "",
    ) -> None:
        self.outage = outage
        self.notify = notify
        self.coordinator = coordinator
        self.owner = owner
        self.sent = 0
        self._tasks: set[asyncio.Task[None]] = set()
        outage.on_past_grace(self.tell)

    def tell(self, chat_id: int, language: str | None, thread_id: int | None) -> None:
        task = asyncio.get_running_loop().create_task(
            self._tell(chat_id, language, thread_id), name=f"outage-notice-{chat_id}"
        )
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _tell(self, chat_id: int, language: str | None, thread_id: int | None) -> None:
        if self.coordinator is not None:
            try:
                lease = await self.coordinator.acquire_lease(
                    f"db-outage-notice:{chat_id}", self.owner, TOLD_FOR
                )
            except CoordinationUnavailableError:
                lease = None  # Redis away too: told by this replica, once
            else:
                if lease is None:
                    return  # another replica told this chat
        t = Translator.for_code(language)
        await self.notify(chat_id, t("database_unavailable"), thread_id=thread_id)
        self.sent += 1
        log.info("chat %s told that the bot is unavailable (database)", chat_id)

    async def aclose(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.wait(set(self._tasks))
