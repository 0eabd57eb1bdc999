"""The users' topics in SUPPORT_CHAT_ID (a forum) and the card that opens each.

A handoff is stored before its topic and card are made; they are made in the background and
tried again while the support chat refuses. A topic is reopened when its user comes back, made
again when someone deleted it, closed with its conversation, and deleted on erasure.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

from aiogram.exceptions import TelegramAPIError, TelegramBadRequest
from aiogram.methods import (
    CloseForumTopic,
    CreateForumTopic,
    DeleteForumTopic,
    EditMessageReplyMarkup,
    EditMessageText,
    ReopenForumTopic,
    SendMessage,
)
from aiogram.types import InlineKeyboardMarkup

from bot.features.desk.domain import CaseView, DeskService
from bot.features.desk.domain.assist import summarize
from bot.features.desk.insights.summaries import CaseSummaries
from bot.features.desk.storage.models import DeskStatus
from bot.features.desk.telegram.card import card_keyboard, card_text, topic_name
from bot.features.desk.telegram.options import DeskOptions
from bot.features.desk.telegram.relay import topic_gone
from bot.features.desk.telegram.supportchat import SupportChat, chat_unusable, fix_for
from bot.features.desk.telegram.topics import TopicLocks
from bot.plugin.coordination import Coordinator
from bot.plugin.models import ChatModel
from bot.plugin.telegram import ChatUnreachableError, Outbox, OutboxError

log = logging.getLogger(__name__)
NOTHING_TO_SUMMARISE = "none: the user wrote nothing before asking for an operator"


class Forum:
    def __init__(
        self,
        service: DeskService,
        outbox: Outbox,
        options: DeskOptions,
        *,
        model: ChatModel | None = None,
        summaries: CaseSummaries | None = None,
        coordinator: Coordinator | None = None,
        support_chat: SupportChat | None = None,
        on_unusable: Callable[[CaseView], Awaitable[None]] | None = None,
        call_lines: Callable[[int], Awaitable[list[str]]] | None = None,
        employee_of: Callable[[int], Awaitable[str]] | None = None,
    ) -> None:
        self.service = service
        self.call_lines = call_lines
        self.employee_of = employee_of
        self.outbox = outbox
        self.options = options
        self.chat_id = options.support_chat_id
        self.model = model
        self.summaries = summaries
        self.topic_locks = TopicLocks(coordinator)  # several replicas: leases in Redis too
        self.preparing: dict[int, asyncio.Task[None]] = {}  # user -> their topic and card
        self.retry_delay = 5.0
        # Whether the support chat can hold topics at all; a handoff it cannot take is given
        # up (`on_unusable`: the user is told, the bot answers again) instead of retried.
        self.support_chat = support_chat or SupportChat(outbox.bot, self.chat_id)
        self.on_unusable = on_unusable

    # -- handoff ---------------------------------------------------------------------------------
    def prepare(self, case: CaseView) -> None:
        if case.user_id in self.preparing:
            return
        task = asyncio.create_task(self._prepare_topic_and_card(case), name="desk-handoff")
        self.preparing[case.user_id] = task
        task.add_done_callback(lambda _: self.preparing.pop(case.user_id, None))

    async def _prepare_topic_and_card(self, case: CaseView) -> None:
        """The topic and the card; tried again (5 s, doubling to 5 min) while the support chat
        refuses, as long as the conversation waits for a person."""
        delay = self.retry_delay
        while True:
            if self.support_chat.known_unusable():
                await self._give_up(case)
                return
            try:
                if await self._topic_and_card(case):
                    return
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("support desk: handoff of user %s not prepared", case.user_id)
            if self.support_chat.known_unusable():
                await self._give_up(case)
                return
            log.warning("support desk: handoff of user %s retried in %.0f s", case.user_id, delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 300.0)
            fresh = await self.service.cases.case_view(case.id)
            if (
                fresh is None
                or fresh.card_message_id is not None
                or not await self.service.is_owned(fresh.user_id)
            ):
                return
            case = fresh

    async def _give_up(self, case: CaseView) -> None:
        """No topic can be made for anyone: nobody would see this user; say so instead."""
        log.error("support desk: handoff of user %s given up: SUPPORT_CHAT_ID %s: %s",
                  case.user_id, self.chat_id, self.support_chat.problem)
        if self.on_unusable is not None:
            await self.on_unusable(case)

    async def _topic_and_card(self, case: CaseView) -> bool:
        """Both under the user's topic lock: a replica that finishes the same handoff (each
        one finishes those a stop left unfinished) finds the card made and stops there."""
        async with self.topic_locks.hold(case.user_id) as across_replicas:
            if across_replicas:
                fresh = await self.service.cases.case_view(case.id)
                if fresh is None or fresh.card_message_id is not None:
                    return True
                case = fresh
            thread = await self._open_topic_held(case)
            return thread is not None and await self._post_card(case, thread)

    # -- topics ----------------------------------------------------------------------------------
    async def _open_topic(self, case: CaseView) -> int | None:
        """The user's topic, reopened, or created (again, when someone deleted it)."""
        async with self.topic_locks.hold(case.user_id) as across_replicas:
            if across_replicas:  # another replica may have made it meanwhile
                case = await self._case_of(case.user_id) or case
            return await self._open_topic_held(case)

    async def _open_topic_held(self, case: CaseView) -> int | None:
        """The topic, reopened or created; the caller holds the user's topic lock."""
        if case.thread_id is not None:
            if not case.topic_closed:
                return case.thread_id
            try:
                await self.outbox.call(
                    self.chat_id,
                    ReopenForumTopic(chat_id=self.chat_id, message_thread_id=case.thread_id),
                )
                await self.service.cases.mark_topic(case.user_id, closed=False)
                return case.thread_id
            except (ChatUnreachableError, TelegramBadRequest) as exc:
                if "topic_not_modified" in str(exc).lower():
                    await self.service.cases.mark_topic(case.user_id, closed=False)
                    return case.thread_id
                if chat_unusable(exc):
                    self.support_chat.refused(exc)
                if not topic_gone(exc):
                    log.error("support desk: cannot reopen topic of %s: %s", case.user_id, exc)
                    return None
                log.warning("topic of user %s was deleted; creating it again", case.user_id)
        return await self._create_topic(case)

    async def _create_topic(self, case: CaseView) -> int | None:
        try:
            topic = await self.outbox.call(
                self.chat_id, CreateForumTopic(chat_id=self.chat_id, name=topic_name(case))
            )
        except (OutboxError, TelegramAPIError) as exc:
            if chat_unusable(exc):  # not a forum, bot removed: retrying cannot help
                self.support_chat.refused(exc)
                log.error("support desk: SUPPORT_CHAT_ID %s cannot hold topics (%s): %s",
                          self.chat_id, exc, fix_for(str(exc)))
                return None
            # No can_manage_topics right: the admin must give it back; tried again until then.
            log.error(
                "support desk: cannot create a topic in SUPPORT_CHAT_ID %s (is it a forum and "
                "the bot an admin with 'Manage topics'?): %s", self.chat_id, exc,
            )
            return None
        await self.service.cases.set_topic(case.user_id, topic.message_thread_id)
        return topic.message_thread_id

    async def recreate_topic(self, user_id: int) -> int | None:
        await self.service.cases.forget_topic(user_id)
        case = await self._case_of(user_id)
        if case is None:
            return None
        thread = await self._create_topic(case)
        if thread is not None:
            await self._post_card(case, thread)
        return thread

    async def _case_of(self, user_id: int) -> CaseView | None:
        return await self.service.cases.latest_case(user_id)

    async def thread_for(self, user_id: int) -> int | None:
        """The user's topic, once the handoff that makes it is done."""
        task = self.preparing.get(user_id)
        if task is not None:
            await asyncio.shield(task)
        case = await self._case_of(user_id)
        if case is None:
            return None
        if case.thread_id is None:
            return await self._open_topic(case)
        owned = case.status in (DeskStatus.WAITING, DeskStatus.WITH_OPERATOR)
        if self.topic_locks.coordinator is not None and case.card_message_id is None and owned:
            # The topic is there from an earlier conversation, and another replica may be
            # posting this handoff's card in it now (under the topic lock; `preparing` above
            # knows only this process's): the user's message goes in after the card.
            async with self.topic_locks.hold(user_id):
                pass
        return case.thread_id

    async def close_topic(self, case: CaseView) -> None:
        if case.thread_id is None:
            return
        try:
            await self.outbox.call(
                self.chat_id,
                CloseForumTopic(chat_id=self.chat_id, message_thread_id=case.thread_id),
            )
        except (OutboxError, TelegramAPIError) as exc:
            if "topic_not_modified" not in str(exc).lower():
                log.warning("support desk: topic of %s not closed: %s", case.user_id, exc)
                return
        await self.service.cases.mark_topic(case.user_id, closed=True)

    async def delete_topic(self, user_id: int, thread: int) -> None:
        try:
            await self.outbox.call(
                self.chat_id, DeleteForumTopic(chat_id=self.chat_id, message_thread_id=thread)
            )
        except (OutboxError, TelegramAPIError) as exc:
            log.warning("support desk: topic of user %s not deleted: %s", user_id, exc)

    # -- the card --------------------------------------------------------------------------------
    async def _keyboard(self, case: CaseView) -> InlineKeyboardMarkup:
        """The card's buttons as they apply now: Close/Back only while a person owns the
        conversation, Block or Unblock by the user's flag."""
        return card_keyboard(
            case, blocked=await self.service.cases.is_blocked(case.user_id),
            open_case=case.status in (DeskStatus.WAITING, DeskStatus.WITH_OPERATOR),
        )

    async def refresh_card(self, case: CaseView) -> None:
        """The card's buttons as they apply now (see `_keyboard`)."""
        if case.card_message_id is None:
            return
        edit = EditMessageReplyMarkup(
            chat_id=self.chat_id, message_id=case.card_message_id,
            reply_markup=await self._keyboard(case),
        )
        try:
            await self.outbox.call(self.chat_id, edit)
        except (OutboxError, TelegramAPIError) as exc:
            if "not modified" not in str(exc).lower():
                log.info("support desk: card of user %s not updated: %s", case.user_id, exc)

    async def _card_text(self, case: CaseView) -> str:
        dialogue = await self.service.cases.handoff_context(case.user_id)
        summary = ""
        if self.summaries is not None:
            # DESK_INSIGHTS: the card goes up at once; the summary job edits it in.
            insight = await self.summaries.insight(case.id)
            if insight is not None and insight.summary:
                summary = "\n".join(insight.card_lines())
            elif not any(text.strip() for _, text in dialogue):
                summary = NOTHING_TO_SUMMARISE  # and no job was asked for
            elif await self.summaries.summary_failed(case.id):
                summary = ""  # card_text says the model was not available
            else:
                summary = "being prepared… (this card is edited when it is ready)"
        elif self.model is not None:
            summary = await summarize(self.model, self.options.summary_model, dialogue)
        sources = await self.service.cases.sources_tried(case.id)
        now = self.service.clock()
        hours = self.options.hours
        opens = None if hours.is_open(now) else hours.next_open(now).strftime("%a %H:%M %Z")
        username = await self.service.cases.username_of(case.user_id)
        # The tools' lines of the user's chat (the tool loop offers them; none without it).
        calls = await self.call_lines(case.user_id) if self.call_lines is not None else []
        # Who the user is at the company, signed in now (the identity feature; "" when not).
        employee = await self.employee_of(case.user_id) if self.employee_of is not None else ""
        return card_text(
            case, summary=summary, dialogue=dialogue[-6:], sources=sources, opens=opens,
            username=username, tool_calls=calls, employee=employee,
        )

    async def edit_card(self, case: CaseView) -> bool:
        """The card again, with what is stored now (the summary and tags once they came).
        True when Telegram shows it (an unchanged card counts)."""
        if case.card_message_id is None:
            return False
        edit = EditMessageText(
            chat_id=self.chat_id, message_id=case.card_message_id,
            text=await self._card_text(case), reply_markup=await self._keyboard(case),
        )
        try:
            await self.outbox.call(self.chat_id, edit)
        except (OutboxError, TelegramAPIError) as exc:
            if "message is not modified" in str(exc).lower():
                return True
            if "message to edit not found" in str(exc).lower():
                log.warning("support desk: card of user %s is gone; summary not shown",
                            case.user_id)
                return True
            raise
        return True

    async def _post_card(self, case: CaseView, thread: int) -> bool:
        text = await self._card_text(case)
        send = SendMessage(
            chat_id=self.chat_id,
            message_thread_id=thread,
            text=text,
            reply_markup=await self._keyboard(case),
        )
        try:
            card = await self.outbox.call(self.chat_id, send)
        except (OutboxError, TelegramAPIError) as exc:
            log.error("support desk: card for user %s not posted: %s", case.user_id, exc)
            return False
        await self.service.cases.set_card(case.id, card.message_id)
        # A summary job that ended (failed) while the card was on its way found no card to
        # edit: the card is edited now if what it should say changed meanwhile.
        if self.summaries is not None and await self._card_text(case) != text:
            fresh = await self.service.cases.case_view(case.id)
            if fresh is not None:
                with contextlib.suppress(OutboxError, TelegramAPIError):
                    await self.edit_card(fresh)
        return True
