"""The support desk on Telegram: topics in SUPPORT_CHAT_ID, the card, handoffs, closing.

Every call to the support chat goes through the Outbox (one group lane: ~20 messages a
minute), so fifty handoffs at once queue up instead of tripping 429s. A handoff is stored
before its topic and card are made; `start` finishes handoffs a stop interrupted.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable
from dataclasses import dataclass
from typing import Any

from aiogram.exceptions import TelegramAPIError, TelegramBadRequest
from aiogram.methods import (
    CloseForumTopic,
    CreateForumTopic,
    DeleteForumTopic,
    DeleteMessages,
    EditMessageReplyMarkup,
    ReopenForumTopic,
    SendMessage,
    SetMyCommands,
)
from aiogram.types import BotCommand, InlineKeyboardButton, InlineKeyboardMarkup

from bot.conversation import TurnResult
from bot.coordination import Coordinator
from bot.desk import CaseView, DeskService, Requester, SupportHours, is_thanks
from bot.desk.assist import Classify, classify_handoff, summarize
from bot.foundation_models.types import ChatModel
from bot.storage.models import HandoffReason
from bot.telegram.answers import Target
from bot.telegram.desk.card import card_keyboard, card_text, topic_name
from bot.telegram.desk.relay import Relayer, topic_gone
from bot.telegram.desk.texts import DESK_TEXTS, OPERATOR_COMMAND
from bot.telegram.desk.topics import TopicLocks
from bot.telegram.outbox import ChatUnreachableError, Outbox, OutboxError
from bot.telegram.startup import patiently
from bot.telegram.texts import COMMANDS, LANGUAGES, Translator

log = logging.getLogger(__name__)

assert DESK_TEXTS  # registers the desk's texts with the Translator


@dataclass(frozen=True, slots=True)
class DeskOptions:
    support_chat_id: int
    hours: SupportHours
    csat: bool = True
    feedback_buttons: bool = False  # KB_MODE=strict: 👍/👎 under every answer
    summary_model: str = "yandexgpt-lite/latest"
    retention_days: int = 0


class SupportDesk:
    def __init__(
        self,
        service: DeskService,
        outbox: Outbox,
        options: DeskOptions,
        *,
        model: ChatModel | None = None,
        classify: Classify | None = None,
        coordinator: Coordinator | None = None,
    ) -> None:
        self.service = service
        self.outbox = outbox
        self.options = options
        self.chat_id = options.support_chat_id
        self.model = model
        self.classify = classify
        self.topic_locks = TopicLocks(coordinator)  # several replicas: leases in Redis too
        self.relayer = Relayer(
            service,
            outbox,
            self.chat_id,
            thread_for=self.thread_for,
            recreate_topic=self.recreate_topic,
            preparing=lambda user_id: user_id in self._preparing,
            locks=self.topic_locks,
        )
        self._preparing: dict[int, asyncio.Task[None]] = {}
        self.retry_delay = 5.0
        self._background: set[asyncio.Task[Any]] = set()

    # -- lifecycle -------------------------------------------------------------------------------
    async def start(self) -> None:
        await self.service.load()
        await self._add_menu_entry()
        for case in await self.service.unfinished_handoffs():
            log.info("support desk: finishing the handoff of user %s", case.user_id)
            self._prepare(case)
        await self.relayer.resume()
        if self.options.retention_days > 0:
            self._spawn(self._purge_forever(self.options.retention_days))

    async def _add_menu_entry(self) -> None:
        """/operator in the command menu (the app has set the rest just before)."""
        for language in LANGUAGES:
            menu = [
                BotCommand(command=c, description=d[language])
                for c, d in {**COMMANDS, "operator": OPERATOR_COMMAND}.items()
            ]
            code = None if language == "en" else language
            try:
                await patiently(self.outbox.bot, SetMyCommands(commands=menu, language_code=code))
            except TelegramAPIError as exc:
                log.warning("setMyCommands with /operator (%s) failed: %s", language, exc)

    async def aclose(self, grace: float = 2.0) -> None:
        """Let copies under way finish (a copy sent but not recorded would be sent again after
        the restart), then stop; what is still queued stays pending for the next start."""
        try:
            async with asyncio.timeout(grace):
                await self.wait_idle()
        except TimeoutError:
            log.warning("support desk: stopping with relays still queued (sent on next start)")
        tasks = [*self._preparing.values(), *self._background]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await self.relayer.aclose()

    async def wait_idle(self) -> None:
        """Until handoffs are prepared and relays sent (tests)."""
        while self._preparing or not self.relayer.idle():  # noqa: ASYNC110
            await asyncio.sleep(0.02)

    def _spawn(self, coro: Awaitable[Any]) -> None:
        task: asyncio.Task[Any] = asyncio.ensure_future(coro)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    # -- handoff ---------------------------------------------------------------------------------
    async def hand_over(self, who: Requester, reason: HandoffReason, t: Translator) -> None:
        """Tell the user, then make their topic and card in the background."""
        handoff = await self.service.hand_over(who, reason)
        if not handoff.started:
            await self.tell(who.user_id, t("desk_already"))
            return
        log.info("support desk: user %s handed over (%s)", who.user_id, reason)
        self._prepare(handoff.case)  # the topic and card do not wait for the user's notice
        hours = self.options.hours
        now = self.service.clock()
        if hours.is_open(now):
            await self.tell(who.user_id, t("desk_handed_over"))
        else:
            when = hours.next_open(now).strftime("%a %d %b %H:%M %Z")
            await self.tell(who.user_id, t("desk_handed_over_closed", when=when))

    async def classify_message(self, text: str) -> HandoffReason | None:
        if self.classify is None or not text.strip():
            return None
        return await classify_handoff(self.classify, text)

    def _prepare(self, case: CaseView) -> None:
        if case.user_id in self._preparing:
            return
        task = asyncio.create_task(self._prepare_topic_and_card(case), name="desk-handoff")
        self._preparing[case.user_id] = task
        task.add_done_callback(lambda _: self._preparing.pop(case.user_id, None))

    async def _prepare_topic_and_card(self, case: CaseView) -> None:
        """The topic and the card; tried again (5 s, doubling to 5 min) while the support chat
        refuses, as long as the conversation waits for a person."""
        delay = self.retry_delay
        while True:
            try:
                if await self._topic_and_card(case):
                    return
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("support desk: handoff of user %s not prepared", case.user_id)
            log.warning("support desk: handoff of user %s retried in %.0f s", case.user_id, delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 300.0)
            fresh = await self.service.case_view(case.id)
            if (
                fresh is None
                or fresh.card_message_id is not None
                or not await self.service.is_owned(fresh.user_id)
            ):
                return
            case = fresh

    async def _topic_and_card(self, case: CaseView) -> bool:
        """Both under the user's topic lock: a replica that finishes the same handoff (each
        one finishes those a stop left unfinished) finds the card made and stops there."""
        async with self.topic_locks.hold(case.user_id) as across_replicas:
            if across_replicas:
                fresh = await self.service.case_view(case.id)
                if fresh is None or fresh.card_message_id is not None:
                    return True
                case = fresh
            thread = await self._open_topic_held(case)
            return thread is not None and await self._post_card(case, thread)

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
                await self.service.mark_topic(case.user_id, closed=False)
                return case.thread_id
            except (ChatUnreachableError, TelegramBadRequest) as exc:
                if "topic_not_modified" in str(exc).lower():
                    await self.service.mark_topic(case.user_id, closed=False)
                    return case.thread_id
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
            # Not a forum, no can_manage_topics right, bot removed: the admin must fix it.
            log.error(
                "support desk: cannot create a topic in SUPPORT_CHAT_ID %s (is it a forum and "
                "the bot an admin with 'Manage topics'?): %s", self.chat_id, exc,
            )  # fmt: skip
            return None
        await self.service.set_topic(case.user_id, topic.message_thread_id)
        return topic.message_thread_id

    async def recreate_topic(self, user_id: int) -> int | None:
        await self.service.forget_topic(user_id)
        case = await self._case_of(user_id)
        if case is None:
            return None
        thread = await self._create_topic(case)
        if thread is not None:
            await self._post_card(case, thread)
        return thread

    async def _case_of(self, user_id: int) -> CaseView | None:
        return await self.service.latest_case(user_id)

    async def thread_for(self, user_id: int) -> int | None:
        """The user's topic, once the handoff that makes it is done."""
        task = self._preparing.get(user_id)
        if task is not None:
            await asyncio.shield(task)
        case = await self._case_of(user_id)
        if case is None:
            return None
        if case.thread_id is None:
            return await self._open_topic(case)
        return case.thread_id

    async def _post_card(self, case: CaseView, thread: int) -> bool:
        dialogue = await self.service.handoff_context(case.user_id)
        summary = ""
        if self.model is not None:
            summary = await summarize(self.model, self.options.summary_model, dialogue)
        sources = await self.service.sources_tried(case.id)
        now = self.service.clock()
        hours = self.options.hours
        opens = None if hours.is_open(now) else hours.next_open(now).strftime("%a %H:%M %Z")
        username = await self.service.username_of(case.user_id)
        text = card_text(
            case, summary=summary, dialogue=dialogue[-6:], sources=sources, opens=opens,
            username=username,
        )  # fmt: skip
        send = SendMessage(
            chat_id=self.chat_id,
            message_thread_id=thread,
            text=text,
            reply_markup=card_keyboard(case),
        )
        try:
            card = await self.outbox.call(self.chat_id, send)
        except (OutboxError, TelegramAPIError) as exc:
            log.error("support desk: card for user %s not posted: %s", case.user_id, exc)
            return False
        await self.service.set_card(case.id, card.message_id)
        return True

    # -- closing ---------------------------------------------------------------------------------
    async def close(self, case_id: int) -> bool:
        case = await self.service.close(case_id, ask_rating=self.options.csat)
        if case is None:
            return False
        t = Translator.for_code(case.language)
        await self.tell(case.user_id, t("desk_closed_user"))
        if self.options.csat:
            await self._ask_rating(case, t)
        await self._close_topic(case)
        return True

    async def give_back(self, case_id: int) -> bool:
        case = await self.service.give_back(case_id)
        if case is None:
            return False
        t = Translator.for_code(case.language)
        await self.tell(case.user_id, t("desk_back_to_bot"))
        await self._close_topic(case)
        return True

    async def _close_topic(self, case: CaseView) -> None:
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
        await self.service.mark_topic(case.user_id, closed=True)

    async def _ask_rating(self, case: CaseView, t: Translator) -> None:
        buttons = [
            InlineKeyboardButton(text=str(n), callback_data=f"csat:{case.id}:{n}")
            for n in range(1, 6)
        ]
        send = SendMessage(
            chat_id=case.user_id,
            text=t("desk_rate"),
            reply_markup=InlineKeyboardMarkup(inline_keyboard=[buttons]),
        )
        try:
            await self.outbox.call(case.user_id, send)
        except (OutboxError, TelegramAPIError) as exc:
            log.warning("support desk: rating request to %s failed: %s", case.user_id, exc)

    # -- answers of the bot ----------------------------------------------------------------------
    def answer_markup(
        self, *, turn_id: int, not_found: bool, t: Translator
    ) -> InlineKeyboardMarkup | None:
        rows: list[list[InlineKeyboardButton]] = []
        if self.options.feedback_buttons:
            rows.append(
                [
                    InlineKeyboardButton(text="👍", callback_data=f"fb:{turn_id}:up"),
                    InlineKeyboardButton(text="👎", callback_data=f"fb:{turn_id}:down"),
                ]
            )
        if not_found:
            rows.append(
                [InlineKeyboardButton(text=t("desk_ask_button"), callback_data="desk:ask")]
            )
        return InlineKeyboardMarkup(inline_keyboard=rows) if rows else None

    async def attach_markup(
        self, chat_id: int, message_id: int, markup: InlineKeyboardMarkup
    ) -> None:
        edit = EditMessageReplyMarkup(chat_id=chat_id, message_id=message_id, reply_markup=markup)
        try:
            await self.outbox.call(chat_id, edit)
        except (OutboxError, TelegramAPIError) as exc:
            log.info("buttons not added to answer %s in %s: %s", message_id, chat_id, exc)

    async def after_answer(self, target: Target, result: TurnResult, ids: list[int]) -> None:
        """Bookkeeping after the bot answered in a private chat: the turn (for the report),
        the answer's buttons, a thanks, and the handoff after two "not found" in a row."""
        chat_id, chat_type = target.chat.chat_id, target.chat.type
        if chat_type != "private" or result.error is not None:
            return
        who = await self.service.requester(chat_id)
        question = await self.service.question_of(result.user_message_id)
        if is_thanks(question):
            await self.service.note_thanks(who)
        sources = [source.title or source.path for source in result.sources]
        note = await self.service.note_turn(
            who, question, not_found=result.not_found, sources=sources,
            answer_message_id=ids[-1] if ids else None,
            question_message_id=result.user_message_id or None,
        )  # fmt: skip
        t = Translator.for_code(who.language)
        markup = self.answer_markup(turn_id=note.turn_id, not_found=result.not_found, t=t)
        if markup is not None and ids:
            await self.attach_markup(chat_id, ids[-1], markup)
        if note.hand_over:
            await self.hand_over(who, HandoffReason.KB_MISS, t)

    # -- erasure ---------------------------------------------------------------------------------
    async def forget(self, user_id: int) -> None:
        """/forget: the user's desk records and their topic in the support chat."""
        thread = await self.service.forget(user_id)
        if thread is not None:
            await self._delete_topic(user_id, thread)

    async def _delete_topic(self, user_id: int, thread: int) -> None:
        try:
            await self.outbox.call(
                self.chat_id, DeleteForumTopic(chat_id=self.chat_id, message_thread_id=thread)
            )
        except (OutboxError, TelegramAPIError) as exc:
            log.warning("support desk: topic of user %s not deleted: %s", user_id, exc)

    async def purge(self, days: int) -> None:
        """Retention in the support chat: topics of users with nothing left are deleted; in
        the others, the cards and relayed messages of the purged conversations."""
        purge = await self.service.purge_older_than(days)
        for user_id, thread in purge.topics:
            await self._delete_topic(user_id, thread)
        for start in range(0, len(purge.messages), 100):  # deleteMessages takes 1-100 ids
            ids = purge.messages[start : start + 100]
            try:
                await self.outbox.call(
                    self.chat_id, DeleteMessages(chat_id=self.chat_id, message_ids=ids)
                )
            except (OutboxError, TelegramAPIError) as exc:
                log.warning("support desk: %d old messages not deleted: %s", len(ids), exc)

    async def _purge_forever(self, days: int, interval: float = 3600.0) -> None:
        while True:
            try:
                await self.purge(days)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("support desk retention failed; retrying in %.0f s", interval)
            await asyncio.sleep(interval)

    # -- plumbing --------------------------------------------------------------------------------
    async def tell(self, user_id: int, text: str) -> None:
        """A plain message to the user, paced by the Outbox; a failure is logged."""
        try:
            await self.outbox.send_text(user_id, text, chat_type="private")
        except (OutboxError, TelegramAPIError) as exc:
            log.warning("support desk: could not tell user %s: %s", user_id, exc)
