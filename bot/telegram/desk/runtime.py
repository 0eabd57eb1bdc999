"""The support desk on Telegram: handoffs, closing, the answers' buttons, erasure.

Every call to the support chat goes through the Outbox (one group lane: ~20 messages a
minute), so fifty handoffs at once queue up instead of tripping 429s. The topics and their
cards are the Forum's (forum.py); `start` finishes handoffs a stop interrupted.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from aiogram.exceptions import TelegramAPIError
from aiogram.methods import (
    CloseForumTopic,
    DeleteMessages,
    EditMessageReplyMarkup,
    ReopenForumTopic,
    SendMessage,
    SetMyCommands,
)
from aiogram.types import BotCommand, InlineKeyboardButton, InlineKeyboardMarkup

from bot.conversation import TurnResult
from bot.coordination import Coordinator
from bot.coordination.stopping import stop_tasks
from bot.desk import CaseView, DeskService, RatingComment, Requester, is_thanks
from bot.desk.assist import Classify, classify_handoff
from bot.extensions import HandoffEvent
from bot.foundation_models.types import ChatModel

if TYPE_CHECKING:  # numpy-based: loaded only with a knowledge base
    from bot.insights.faq import FaqDrafts
    from bot.insights.gaps import GapAnalysis
from bot.insights import InsightJobs
from bot.insights.summaries import CaseSummaries
from bot.storage.models import HandoffReason
from bot.telegram.answers import Target
from bot.telegram.desk.forum import Forum
from bot.telegram.desk.kbreview import KbReview
from bot.telegram.desk.learning import DeskLearning
from bot.telegram.desk.options import DeskOptions
from bot.telegram.desk.relay import Relayer
from bot.telegram.desk.supportchat import FIX, SupportChat
from bot.telegram.desk.texts import DESK_TEXTS, OPERATOR_COMMAND
from bot.telegram.outbox import ChatUnreachableError, Outbox, OutboxError
from bot.telegram.startup import patiently
from bot.telegram.texts import COMMANDS, LANGUAGES, Translator

log = logging.getLogger(__name__)

assert DESK_TEXTS  # registers the desk's texts with the Translator


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
        insights: InsightJobs | None = None,
        faq: FaqDrafts | None = None,
        gaps: GapAnalysis | None = None,
        gaps_every: float = 86400.0,
        menu_extra: dict[str, dict[str, str]] | None = None,
        on_handoff: Callable[[HandoffEvent], None] | None = None,
    ) -> None:
        self.service = service
        self.outbox = outbox
        self.options = options
        self.chat_id = options.support_chat_id
        self.classify = classify
        self.support_chat = SupportChat(outbox.bot, self.chat_id)
        # DESK_INSIGHTS: summaries and tags by deferred (asynchronous) jobs.
        summaries = (
            CaseSummaries(insights, service.sessionmaker) if insights is not None else None
        )
        self.forum = Forum(
            service, outbox, options, model=model, summaries=summaries,
            coordinator=coordinator, support_chat=self.support_chat,
            on_unusable=self._handoff_failed,
        )  # fmt: skip
        self.learning = (
            DeskLearning(service, outbox, self.forum, insights, summaries, faq=faq, gaps=gaps,
                         gaps_every=gaps_every, one_process=coordinator is None)
            if insights is not None and summaries is not None
            else None
        )  # fmt: skip
        self.relayer = Relayer(
            service,
            outbox,
            self.chat_id,
            thread_for=self.forum.thread_for,
            recreate_topic=self.forum.recreate_topic,
            preparing=lambda user_id: user_id in self.forum.preparing,
            locks=self.forum.topic_locks,
        )
        self._background: set[asyncio.Task[Any]] = set()
        self._alerted_at = float("-inf")
        self.alert_interval = 600.0  # admins hear of an unusable support chat this often
        # The App's menu commands and on_handoff hooks.
        self.menu_extra = dict(menu_extra or {})
        self.on_handoff = on_handoff

    @property
    def kb_review(self) -> KbReview | None:
        """The "Knowledge base" topic's FAQ drafts (DESK_INSIGHTS with a knowledge base)."""
        return self.learning.kb_review if self.learning is not None else None

    # -- lifecycle -------------------------------------------------------------------------------
    async def start(self) -> None:
        await self.service.load()
        await self._add_menu_entry()
        # Said plainly at start: a support chat without Topics cannot take a single handoff.
        # The bot still starts (its answers do not need the desk) and refuses handoffs, telling
        # each user so, until an admin turns Topics on (no restart needed).
        if await self.support_chat.refresh() is False:
            log.error("support desk: SUPPORT_CHAT_ID %s cannot take handoffs: %s; %s. Until "
                      "then /operator tells users no person can see them and the bot keeps "
                      "answering", self.chat_id, self.support_chat.problem, FIX)  # fmt: skip
            await self._alert_admins()
        for case in await self.service.unfinished_handoffs():
            log.info("support desk: finishing the handoff of user %s", case.user_id)
            self.forum.prepare(case)
        await self.relayer.resume()
        if self.learning is not None:
            await self.learning.start(self._spawn)
        if self.options.retention_days > 0:
            self._spawn(self._purge_forever(self.options.retention_days))

    async def _add_menu_entry(self) -> None:
        """/operator in the command menu (the app has set the rest just before)."""
        for language in LANGUAGES:
            menu = [
                BotCommand(command=c, description=d[language])
                for c, d in {**COMMANDS, "operator": OPERATOR_COMMAND, **self.menu_extra}.items()
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
        await stop_tasks(*self.forum.preparing.values(), *self._background)
        if self.learning is not None:
            await self.learning.insights.aclose()  # running jobs stay running: polled later
        await self.relayer.aclose()

    async def wait_idle(self) -> None:
        """Until handoffs are prepared and relays sent (tests)."""
        while self.forum.preparing or not self.relayer.idle():  # noqa: ASYNC110
            await asyncio.sleep(0.02)

    def _spawn(self, coro: Awaitable[Any]) -> None:
        task: asyncio.Task[Any] = asyncio.ensure_future(coro)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    # -- handoff ---------------------------------------------------------------------------------
    async def hand_over(self, who: Requester, reason: HandoffReason, t: Translator) -> None:
        """Tell the user, then make their topic and card in the background. A support chat
        known unable to hold topics takes no handoff: the user hears so, the bot answers on."""
        if not await self.support_chat.can_hand_over():
            log.warning("support desk: user %s not handed over: SUPPORT_CHAT_ID %s: %s",
                        who.user_id, self.chat_id, self.support_chat.problem)  # fmt: skip
            await self.tell(who.user_id, t("desk_unavailable"))
            await self._alert_admins()
            return
        handoff = await self.service.hand_over(who, reason)
        if not handoff.started:
            await self.tell(who.user_id, t("desk_already"))
            return
        log.info("support desk: user %s handed over (%s)", who.user_id, reason)
        if self.on_handoff is not None:  # the App's hooks, in tasks of their own
            self.on_handoff(HandoffEvent(who.user_id, who.user_id, str(reason.value)))
        self.forum.prepare(handoff.case)  # the topic and card do not wait for the user's notice
        if self.learning is not None:
            await self.learning.request_summary(handoff.case)
        hours = self.options.hours
        now = self.service.clock()
        if hours.is_open(now):
            await self.tell(who.user_id, t("desk_handed_over"))
        else:
            when = hours.next_open(now).strftime("%a %d %b %H:%M %Z")
            await self.tell(who.user_id, t("desk_handed_over_closed", when=when))

    async def _handoff_failed(self, case: CaseView) -> None:
        """The topic cannot be made (the chat lost its Topics, the bot was removed): the
        conversation goes back to the bot, and the user learns nobody saw it."""
        if await self.service.give_up(case.id) is None:
            return  # closed or handed back meanwhile
        t = Translator.for_code(case.language)
        await self.tell(case.user_id, t("desk_handoff_failed"))
        await self._alert_admins()

    async def _alert_admins(self) -> None:
        """ADMIN_USER_IDS hear that the support chat cannot take handoffs (once in a while)."""
        now = asyncio.get_running_loop().time()
        if now - self._alerted_at < self.alert_interval:
            return
        self._alerted_at = now
        for admin in self.options.admins:
            t = Translator.for_code((await self.service.requester(admin)).language)
            await self.tell(admin, t("desk_admin_unusable", chat=self.chat_id,
                                     problem=self.support_chat.problem))  # fmt: skip

    async def classify_message(self, text: str) -> HandoffReason | None:
        if self.classify is None or not text.strip():
            return None
        return await classify_handoff(self.classify, text)

    # -- closing ---------------------------------------------------------------------------------
    async def close(self, case_id: int, *, note: str | None = None) -> bool:
        """Close the case; `note` is posted in its topic before the topic closes (a bot
        without the right to manage topics gets TOPIC_CLOSED writing into a closed one)."""
        case = await self.service.close(case_id, ask_rating=self.options.csat)
        if case is None:
            return False
        t = Translator.for_code(case.language)
        await self.tell(case.user_id, t("desk_closed_user"))
        if self.learning is not None:
            await self.learning.request_final_summary(case)
        if self.options.csat:
            await self._ask_rating(case, t)
        await self.forum.refresh_card(case)  # no Close/Back on a closed conversation
        await self._note_then_close(case, note)
        return True

    async def give_back(self, case_id: int, *, note: str | None = None) -> bool:
        """Hand the case back to the bot; `note` as in `close`."""
        case = await self.service.give_back(case_id)
        if case is None:
            return False
        t = Translator.for_code(case.language)
        await self.tell(case.user_id, t("desk_back_to_bot"))
        await self.forum.refresh_card(case)
        await self._note_then_close(case, note)
        return True

    async def _note_then_close(self, case: CaseView, note: str | None) -> None:
        if note is not None and case.thread_id is not None:
            await self.note(case.thread_id, note)
        await self.forum.close_topic(case)

    async def note(self, thread: int, text: str) -> None:
        """A note of the bot's in a topic. A closed topic can refuse the bot (TOPIC_CLOSED):
        it is reopened for the note and closed again, so an operator's command in a closed
        topic still gets its answer."""
        send = SendMessage(chat_id=self.chat_id, message_thread_id=thread, text=text)
        try:
            await self.outbox.call(self.chat_id, send)
            return
        except ChatUnreachableError as exc:
            if "topic_closed" not in exc.reason.lower():
                log.warning("support desk: note not posted in topic %s: %s", thread, exc.reason)
                return
        except (OutboxError, TelegramAPIError) as exc:
            log.warning("support desk: note not posted in topic %s: %s", thread, exc)
            return
        try:
            await self.outbox.call(self.chat_id, ReopenForumTopic(
                chat_id=self.chat_id, message_thread_id=thread))
            await self.outbox.call(self.chat_id, send)
        except (OutboxError, TelegramAPIError) as exc:
            log.warning("support desk: note not posted in closed topic %s: %s", thread, exc)
        finally:
            with contextlib.suppress(OutboxError, TelegramAPIError):
                await self.outbox.call(self.chat_id, CloseForumTopic(
                    chat_id=self.chat_id, message_thread_id=thread))

    async def post_comment(self, comment: RatingComment) -> None:
        """The user's comment on their rating, in their topic (closed or not: the bot manages
        topics, so it may still write in a closed one)."""
        if comment.thread_id is None:
            log.info("support desk: comment of user %s has no topic to go to", comment.user_id)
            return
        rated = f"{comment.score}/5" if comment.score is not None else "no score"
        send = SendMessage(
            chat_id=self.chat_id, message_thread_id=comment.thread_id,
            text=f"💬 Rating {rated}, the user's comment:\n{comment.text}",
        )  # fmt: skip
        try:
            await self.outbox.call(self.chat_id, send)
        except (OutboxError, TelegramAPIError) as exc:
            log.warning("support desk: comment not posted in topic %s: %s",
                        comment.thread_id, exc)

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
        if not_found and not self.support_chat.known_unusable():  # no person to ask now
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
        if note.hand_over and not self.support_chat.known_unusable():  # nobody asked for it
            await self.hand_over(who, HandoffReason.KB_MISS, t)

    # -- erasure ---------------------------------------------------------------------------------
    async def forget(self, user_id: int) -> None:
        """/forget: the user's desk records and their topic in the support chat, and their
        unreviewed FAQ drafts' messages in the "Knowledge base" topic."""
        drafts = await self.service.draft_messages_of(user_id)
        thread = await self.service.forget(user_id)
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
        purge = await self.service.purge_older_than(days)
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
