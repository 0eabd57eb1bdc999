"""FAQ drafts under review in the support chat's "Knowledge base" topic.

The topic is made once (stored in desk_places, found again after a restart); each draft is
posted there with Approve / Edit / Reject; a reply to a draft's message replaces its text;
the message is edited to show the outcome. A draft stored but not posted yet (the chat
refused, the bot stopped) is posted at the next start or with the next drafts.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from aiogram.exceptions import TelegramAPIError
from aiogram.methods import CreateForumTopic, EditMessageText, SendMessage
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from sqlalchemy import delete, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.features.desk.storage.insights_models import DeskPlace, FaqDraftStatus
from bot.plugin.telegram import Outbox, OutboxError

if TYPE_CHECKING:  # numpy-based: loaded only with a knowledge base
    from bot.features.desk.insights.faq import DraftView, FaqDrafts

log = logging.getLogger(__name__)
TOPIC = "kb_review"
TOPIC_NAME = "Knowledge base"
LIMIT = 4000
EDIT_HELP = (
    "✏️ Reply to the draft with its new text: the question on the first line, the answer "
    "below (or \"Q: …\" and \"A: …\"). The reply replaces the draft; nothing is published "
    "until you press Approve."
)


def draft_text(draft: DraftView, note: str = "") -> str:
    head = {
        FaqDraftStatus.PENDING: f"📝 FAQ draft #{draft.id}",
        FaqDraftStatus.APPROVED: f"✅ FAQ draft #{draft.id}: approved, written to the knowledge "
                                 "base (indexed by the next sync)",
        FaqDraftStatus.REJECTED: f"🗑 FAQ draft #{draft.id}: rejected",
    }[draft.status]
    source = f" (from conversation {draft.case_id})" if draft.case_id else ""
    text = f"{head}{source}\n\nQ: {draft.question}\n\nA: {draft.answer}"
    if note:
        text += f"\n\n{note}"
    return text if len(text) <= LIMIT else text[: LIMIT - 1] + "…"


def draft_keyboard(draft: DraftView) -> InlineKeyboardMarkup | None:
    if draft.status is not FaqDraftStatus.PENDING:
        return None
    return InlineKeyboardMarkup(inline_keyboard=[[
        InlineKeyboardButton(text="✅ Approve", callback_data=f"kbd:approve:{draft.id}"),
        InlineKeyboardButton(text="✏️ Edit", callback_data=f"kbd:edit:{draft.id}"),
        InlineKeyboardButton(text="🗑 Reject", callback_data=f"kbd:reject:{draft.id}"),
    ]])


class KbReview:
    def __init__(
        self,
        drafts: FaqDrafts,
        outbox: Outbox,
        chat_id: int,
        sessionmaker: async_sessionmaker[AsyncSession],
    ) -> None:
        self.drafts = drafts
        self.outbox = outbox
        self.chat_id = chat_id
        self.sessionmaker = sessionmaker
        self.thread_id: int | None = None
        self.wait = 30.0
        self._lock = asyncio.Lock()

    async def load(self) -> None:
        async with self.sessionmaker() as session:
            place = await session.get(DeskPlace, TOPIC)
            if place is not None and place.chat_id != self.chat_id:
                await session.delete(place)  # SUPPORT_CHAT_ID changed: a new topic there
                await session.commit()
                place = None
        if place is not None and place.thread_id:
            self.thread_id = place.thread_id

    async def thread(self) -> int:
        """The "Knowledge base" topic, made the first time a draft needs it. With several
        replicas, the one whose placeholder row (thread 0) went in makes it; the others wait
        for its thread id (and take over after `wait` seconds, when its maker died)."""
        if self.thread_id is not None:
            return self.thread_id
        async with self.sessionmaker() as session:
            session.add(DeskPlace(name=TOPIC, chat_id=self.chat_id, thread_id=0))
            try:
                await session.commit()
                mine = True
            except IntegrityError:
                mine = False
        if not mine:
            for _ in range(int(self.wait / 0.2)):
                await self.load()
                if self.thread_id is not None:
                    return self.thread_id
                await asyncio.sleep(0.2)
        try:
            topic = await self.outbox.call(
                self.chat_id, CreateForumTopic(chat_id=self.chat_id, name=TOPIC_NAME)
            )
        except BaseException:
            if mine:  # another process may try
                async with self.sessionmaker() as session:
                    await session.execute(
                        delete(DeskPlace).where(DeskPlace.name == TOPIC, DeskPlace.thread_id == 0)
                    )
                    await session.commit()
            raise
        async with self.sessionmaker() as session:
            await session.execute(
                update(DeskPlace).where(DeskPlace.name == TOPIC)
                .values(chat_id=self.chat_id, thread_id=topic.message_thread_id)
            )
            await session.commit()
        self.thread_id = topic.message_thread_id
        return self.thread_id

    async def post_unposted(self, *, at_start: bool = False) -> int:
        """Post every pending draft not in the topic yet (`at_start`: also those a stopped
        process had claimed); raises when Telegram refuses (the caller tries again later).
        Returns how many were posted."""
        async with self._lock:
            posted = 0
            for draft in await self.drafts.unposted(claimed_too=at_start):
                if draft.message_id is None and not await self.drafts.claim_post(draft.id):
                    continue  # another replica posts it
                try:
                    thread = await self.thread()
                    message = await self.outbox.call(self.chat_id, SendMessage(
                        chat_id=self.chat_id, message_thread_id=thread,
                        text=draft_text(draft), reply_markup=draft_keyboard(draft),
                    ))
                except BaseException:
                    await asyncio.shield(self.drafts.unclaim_post(draft.id))
                    raise
                await self.drafts.set_message(draft.id, message.message_id)
                posted += 1
            return posted

    async def show(self, draft: DraftView, note: str = "") -> None:
        if draft.message_id is None:
            return
        edit = EditMessageText(
            chat_id=self.chat_id, message_id=draft.message_id, text=draft_text(draft, note),
            reply_markup=draft_keyboard(draft),
        )
        try:
            await self.outbox.call(self.chat_id, edit)
        except (OutboxError, TelegramAPIError) as exc:
            if "not modified" not in str(exc).lower():
                log.warning("FAQ draft %s not updated in the topic: %s", draft.id, exc)

    async def say(self, text: str) -> None:
        if self.thread_id is None:
            return
        send = SendMessage(chat_id=self.chat_id, message_thread_id=self.thread_id, text=text)
        try:
            await self.outbox.call(self.chat_id, send)
        except (OutboxError, TelegramAPIError) as exc:
            log.info("note not posted in the Knowledge base topic: %s", exc)
