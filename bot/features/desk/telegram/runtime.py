"""The support desk on Telegram: its start and stop, handoffs and closing; the parts it
gathers: forum.py (topics, cards), relay.py, buttons.py (under answers), notes.py, erasure.py.

Every call to the support chat goes through the Outbox (one group lane: ~20 messages a
minute), so fifty handoffs at once queue up instead of tripping 429s. The topics and their
cards are the Forum's (forum.py); `start` finishes handoffs a stop interrupted.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from aiogram.exceptions import TelegramAPIError
from aiogram.methods import SetMyCommands
from aiogram.types import BotCommand

from bot.features.desk.domain import CaseView, DeskService, RatingComment, Requester
from bot.features.desk.domain.assist import Classify, classify_handoff
from bot.plugin.conversation import TurnResult, add_to_trace, newest_answer
from bot.plugin.coordination import Coordinator, stop_tasks
from bot.plugin.extending import HandoffEvent, handoff_reason
from bot.plugin.models import ChatModel

if TYPE_CHECKING:  # numpy-based: loaded only with a knowledge base
    from bot.features.desk.insights.faq import FaqDrafts
    from bot.features.desk.insights.gaps import GapAnalysis
from bot.features.desk.insights import InsightJobs
from bot.features.desk.insights.summaries import CaseSummaries
from bot.features.desk.storage.models import HandoffReason
from bot.features.desk.telegram.buttons import AnswerButtons
from bot.features.desk.telegram.card import REASONS
from bot.features.desk.telegram.erasure import DeskErasure
from bot.features.desk.telegram.forum import Forum
from bot.features.desk.telegram.kbreview import KbReview
from bot.features.desk.telegram.learning import DeskLearning
from bot.features.desk.telegram.notes import TopicNotes
from bot.features.desk.telegram.options import DeskOptions
from bot.features.desk.telegram.relay import Relayer
from bot.features.desk.telegram.supportchat import SupportChat, fix_key
from bot.features.desk.telegram.texts import OPERATOR_COMMAND
from bot.plugin.telegram import (
    COMMANDS,
    LANGUAGES,
    BotRun,
    BotService,
    Outbox,
    OutboxError,
    Target,
    Translator,
    patiently,
)

log = logging.getLogger(__name__)


class SupportDesk(BotService):
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
        call_lines: Callable[[int], Awaitable[list[str]]] | None = None,
        employee_of: Callable[[int], Awaitable[str]] | None = None,
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
            on_unusable=self._handoff_failed, call_lines=call_lines, employee_of=employee_of,
        )
        self.learning = (
            DeskLearning(service, outbox, self.forum, insights, summaries, faq=faq, gaps=gaps,
                         gaps_every=gaps_every, one_process=coordinator is None,
                         idle=options.idle)
            if insights is not None and summaries is not None
            else None
        )
        self.relayer = Relayer(
            service,
            outbox,
            self.chat_id,
            thread_for=self.forum.thread_for,
            recreate_topic=self.forum.recreate_topic,
            preparing=lambda user_id: user_id in self.forum.preparing,
            locks=self.forum.topic_locks,
        )
        self.notes = TopicNotes(outbox, self.chat_id)
        self.buttons = AnswerButtons(service, outbox, options, self.support_chat, self.hand_over)
        self.erasure = DeskErasure(service, outbox, self.forum, self.chat_id)
        self._background: set[asyncio.Task[Any]] = set()
        self._endings: set[asyncio.Task[Any]] = set()  # cards, topics and notes of /close
        self._alerted_at = float("-inf")
        self.alert_interval = 600.0  # admins hear of an unusable support chat this often
        # Every feature's menu commands, and the on_handoff hooks.
        self.menu_extra = dict(menu_extra or {})
        self.on_handoff = on_handoff

    @property
    def kb_review(self) -> KbReview | None:
        """The "Knowledge base" topic's FAQ drafts (DESK_INSIGHTS with a knowledge base)."""
        return self.learning.kb_review if self.learning is not None else None

    # -- lifecycle -------------------------------------------------------------------------------
    async def startup(self, run: BotRun) -> None:
        """Who a person owns, before any update is handled; pending relays and unfinished
        handoffs resume in the background."""
        await self.start()

    async def shutdown(self) -> None:
        await self.aclose()

    async def stand_down(self) -> None:
        """The poller's lease was lost: a copy under way is recorded, not resent."""
        await self.aclose(grace=1.0)

    async def start(self) -> None:
        await self.service.load()
        await self._add_menu_entry()
        # Said plainly at start: a support chat without Topics cannot take a single handoff.
        # The bot still starts (its answers do not need the desk) and refuses handoffs, telling
        # each user so, until an admin turns Topics on (no restart needed).
        if await self.support_chat.refresh() is False:
            log.error("support desk: SUPPORT_CHAT_ID %s cannot take handoffs: %s; %s. Until "
                      "then /operator tells users no person can see them and the bot keeps "
                      "answering", self.chat_id, self.support_chat.problem,
                      self.support_chat.fix)
            await self._alert_admins()
        for case in await self.service.cases.unfinished_handoffs():
            log.info("support desk: finishing the handoff of user %s", case.user_id)
            self.forum.prepare(case)
        await self.relayer.resume()
        if self.learning is not None:
            await self.learning.start(self._spawn)
        if self.options.retention_days > 0:
            self._spawn(self.erasure.purge_forever(self.options.retention_days))

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
        while (  # noqa: ASYNC110
            self.forum.preparing or self._endings or not self.relayer.idle()
        ):
            await asyncio.sleep(0.02)

    def _spawn(self, coro: Awaitable[Any], also: set[asyncio.Task[Any]] | None = None) -> None:
        """A background task, stopped by `aclose`; `also`: a set that holds it while it runs."""
        task: asyncio.Task[Any] = asyncio.ensure_future(coro)
        for tasks in (self._background, also):
            if tasks is not None:
                tasks.add(task)
                task.add_done_callback(tasks.discard)

    # -- handoff ---------------------------------------------------------------------------------
    async def hand_over(self, who: Requester, reason: HandoffReason, t: Translator) -> None:
        """Tell the user, then make their topic and card in the background. A support chat
        known unable to hold topics takes no handoff: the user hears so, the bot answers on."""
        if not await self.support_chat.can_hand_over():
            log.warning("support desk: user %s not handed over: SUPPORT_CHAT_ID %s: %s",
                        who.user_id, self.chat_id, self.support_chat.problem)
            await self.tell(who.user_id, t("desk_unavailable"))
            await self._alert_admins()
            return
        handoff = await self.service.hand_over(who, reason)
        if not handoff.started:
            await self.tell(who.user_id, t("desk_already"))
            return
        log.info("support desk: user %s handed over (%s)", who.user_id, reason)
        await self._trace_handoff(who, reason)
        if self.on_handoff is not None:  # the App's hooks, in tasks of their own
            self.on_handoff(HandoffEvent(who.user_id, who.user_id, handoff_reason(reason.value)))
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

    async def _trace_handoff(self, who: Requester, reason: HandoffReason) -> None:
        """The rule that handed the customer over, in the trace of the answer it followed
        (the second "not found" one, or the answer before their request for a person), so
        the console shows it beside that answer. None before it: nothing to add it to."""
        rule = f"handoff: {REASONS[reason]}"
        try:
            async with self.service.sessionmaker() as session:
                answer_id = await newest_answer(session, who.user_id)
                if answer_id is not None:
                    await add_to_trace(session, answer_id, "handoff",
                                       {"rules": [rule], "trigger": reason.value},
                                       tags=[f"handoff:{reason.value}"])
                    await session.commit()
        except Exception:  # the handoff goes on: the trace is what the console reads
            log.exception("support desk: the handoff of %s not added to its answer's trace",
                          who.user_id)

    async def _handoff_failed(self, case: CaseView) -> None:
        """The topic cannot be made (the chat lost its Topics, the bot was removed): the
        conversation goes back to the bot, and the user learns nobody saw it."""
        if await self.service.closing.give_up(case.id) is None:
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
            t = Translator.for_code((await self.service.cases.requester(admin)).language)
            problem = self.support_chat.problem
            await self.tell(admin, t("desk_admin_unusable", chat=self.chat_id, problem=problem,
                                     fix=t(fix_key(problem))))

    async def classify_message(self, text: str) -> HandoffReason | None:
        if self.classify is None or not text.strip():
            return None
        return await classify_handoff(self.classify, text)

    # -- closing ---------------------------------------------------------------------------------
    async def close(self, case_id: int, *, note: str | None = None) -> bool:
        """Close the case: its card says so at once, then the topic closes and `note` follows
        it there (the bot manages topics, so it may write in a closed one), in the background:
        an operator closing several cases in a row waits on none of them."""
        case = await self.service.closing.close(case_id, ask_rating=self.options.csat)
        if case is None:
            return False
        self._spawn(self._ended(case, note), self._endings)
        t = Translator.for_code(case.language)
        await self.tell(case.user_id, t("desk_closed_user"))
        if self.learning is not None:
            await self.learning.request_final_summary(case)
            await self.learning.request_score(case)
        if self.options.csat:
            await self.notes.ask_rating(case, t)
        return True

    async def give_back(self, case_id: int, *, note: str | None = None) -> bool:
        """Hand the case back to the bot; the card, the topic and `note` as in `close`."""
        case = await self.service.closing.give_back(case_id)
        if case is None:
            return False
        self._spawn(self._ended(case, note), self._endings)
        t = Translator.for_code(case.language)
        await self.tell(case.user_id, t("desk_back_to_bot"))
        return True

    async def _ended(self, case: CaseView, note: str | None) -> None:
        # The card first (its status line and no Close/Back), then the close, then the note:
        # each waits for the group's pace (20 messages a minute), the close behind nothing.
        try:
            await self.forum.edit_card(case)
        except (OutboxError, TelegramAPIError) as exc:
            log.info("support desk: card of user %s not updated: %s", case.user_id, exc)
        await self.forum.close_topic(case)
        if note is not None and case.thread_id is not None:
            await self.note(case.thread_id, note)

    async def note(self, thread: int, text: str) -> None:
        """A note of the bot's in a topic (reopened for it when closed: notes.py)."""
        await self.notes.note(thread, text)

    async def post_comment(self, comment: RatingComment) -> None:
        await self.notes.post_comment(comment)

    # -- answers of the bot ----------------------------------------------------------------------
    background = False  # the answer's buttons come before the chat's next answer

    async def delivered(
        self, target: Target, result: TurnResult, ids: list[int], t: Translator
    ) -> None:
        """The turn recorded, the answer's buttons, the handoff after two "not found"."""
        await self.buttons.after_answer(target, result, ids)

    # -- erasure ---------------------------------------------------------------------------------
    async def forget(self, user_id: int) -> None:
        """/forget: the user's desk records, topic and unreviewed FAQ drafts (erasure.py)."""
        await self.erasure.forget(user_id)

    async def purge(self, days: int) -> None:
        """Retention in the support chat (erasure.py)."""
        await self.erasure.purge(days)

    # -- plumbing --------------------------------------------------------------------------------
    async def tell(self, user_id: int, text: str) -> None:
        """A plain message to the user, paced by the Outbox; a failure is logged."""
        try:
            await self.outbox.send_text(user_id, text, chat_type="private")
        except (OutboxError, TelegramAPIError) as exc:
            log.warning("support desk: could not tell user %s: %s", user_id, exc)
