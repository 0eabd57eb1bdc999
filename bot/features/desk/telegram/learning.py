"""What the desk learns, on Telegram: the deferred jobs' results put in their places.

The handoff's summary and tags edited into its card, the final summary stored, FAQ drafts
posted for review in the "Knowledge base" topic, the content-gap report posted there every
INSIGHTS_INTERVAL, every finished conversation scored (at /close, and by a sweep for the
ones the bot kept, once a day has passed without a message); at start, the jobs a stop left
behind (never resubmitted) and the ones it kept from being asked for.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from aiogram.exceptions import TelegramAPIError
from aiogram.methods import SendMessage

from bot.features.desk.domain import CaseView, DeskService
from bot.features.desk.insights import InsightJobs, JobResult, NotYet
from bot.features.desk.insights.kinds import FAQ, FINAL, HANDOFF, QA
from bot.features.desk.insights.qa import ConversationScores
from bot.features.desk.insights.summaries import CaseSummaries
from bot.features.desk.storage.insight_jobs import InsightJobRepository
from bot.features.desk.storage.models import DeskStatus
from bot.features.desk.telegram.forum import Forum
from bot.features.desk.telegram.kbreview import KbReview
from bot.plugin.telegram import Outbox, OutboxError

if TYPE_CHECKING:  # numpy-based: loaded only with a knowledge base
    from bot.features.desk.insights.faq import FaqDrafts
    from bot.features.desk.insights.gaps import GapAnalysis

log = logging.getLogger(__name__)


class CardNotPostedError(NotYet):
    """A summary arrived before its card was posted (applied again later: an expected race,
    one INFO line in the log)."""


class DeskLearning:
    def __init__(
        self,
        service: DeskService,
        outbox: Outbox,
        forum: Forum,
        insights: InsightJobs,
        summaries: CaseSummaries,
        *,
        faq: FaqDrafts | None = None,
        gaps: GapAnalysis | None = None,
        gaps_every: float = 86400.0,
        score_every: float = 600.0,
        one_process: bool = True,
        idle: dt.timedelta = dt.timedelta(hours=24),
    ) -> None:
        self.service = service
        self.outbox = outbox
        self.forum = forum
        self.chat_id = forum.chat_id
        self.insights = insights
        self.summaries = summaries
        # FAQ drafts (need a knowledge base): reviewed in the "Knowledge base" topic.
        self.faq = faq
        self.kb_review = (
            KbReview(faq, outbox, self.chat_id, service.sessionmaker) if faq is not None else None
        )
        self.gaps = gaps
        self.gaps_every = gaps_every
        self.one_process = one_process
        self.scores = ConversationScores(insights, service.sessionmaker, idle=idle)
        self.score_every = score_every

    async def start(self, spawn: Callable[[Awaitable[Any]], None]) -> None:
        self.insights.on_done(HANDOFF, self._summary_arrived)
        self.insights.on_done(FINAL, self._final_summary_arrived)
        self.insights.on_failed(HANDOFF, self._summary_failed)
        self.insights.on_done(QA, self._score_arrived)
        self.insights.on_failed(QA, self.scores.failed)
        await self.summaries.resume(self.service.cases.handoff_context)
        await self._resume_closed()
        if self.kb_review is not None:
            self.insights.on_done(FAQ, self._drafts_arrived)
            await self.kb_review.load()
            spawn(self._post_drafts())
        if self.gaps is not None:
            spawn(self._gaps_forever())
        spawn(self._score_forever())
        # What a stop left unfinished, polled (not resubmitted); one process takes over the
        # leases its killed predecessor left, replicas wait for them to expire.
        await self.insights.sweep(take_over=self.one_process)
        spawn(self.insights.sweep_forever())

    async def request_summary(self, case: CaseView) -> None:
        try:
            dialogue = await self.service.cases.handoff_context(case.user_id)
            await self.summaries.request_handoff(case.id, case.user_id, dialogue)
        except Exception:  # the card goes up anyway, without a summary
            log.exception("support desk: no summary job for the handoff of %s", case.user_id)

    async def request_final_summary(self, case: CaseView) -> None:
        try:
            before = await self.service.cases.dialogue_before_case(case.id)
            during = await self.service.cases.case_transcript(case.id)
            lines = [("bot" if r == "assistant" else r, x) for r, x in before] + during
            await self.summaries.request_final(case.id, case.user_id, lines)
            if self.faq is not None:
                await self.faq.request(case.id, case.user_id, lines)
        except Exception:
            log.exception("support desk: no final summary job for case %s", case.id)

    async def request_score(self, case: CaseView) -> None:
        """The closed conversation's quality score (the bot's own are found by the sweep)."""
        try:
            lines = await self.service.cases.case_dialogue(case.id)
            await self.scores.request(case.id, case.user_id, lines)
        except Exception:
            log.exception("support desk: no score job for case %s", case.id)

    async def score_finished(self, now: dt.datetime | None = None) -> int:
        """Ask for the score of every finished conversation without one (`now`: the time
        the sweep judges "a day without a message" by)."""
        return await self.scores.score_finished(self.service.cases.case_dialogue, now)

    async def _score_arrived(self, result: JobResult) -> None:
        await self.scores.store(result)

    async def _score_forever(self) -> None:
        """Every `score_every` seconds, one replica (the one whose claim wins) asks for the
        scores of the conversations that finished meanwhile."""
        every = dt.timedelta(seconds=self.score_every)
        while True:
            try:
                async with self.service.sessionmaker() as session:
                    mine = await InsightJobRepository(session).claim_run(
                        "qa_sweep", dt.datetime.now(dt.UTC), every
                    )
                    await session.commit()
                if mine:
                    await self.score_finished()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("support desk: scoring finished conversations failed; tried "
                              "next time")
            await asyncio.sleep(self.score_every)

    async def _summary_arrived(self, result: JobResult) -> None:
        """Store the summary and tags, and edit them into the card. A card not posted yet
        raises: the job is applied again later (the card, once posted, shows them)."""
        if await self.summaries.store(result) is None or result.case_id is None:
            return
        case = await self.service.cases.case_view(result.case_id)
        if case is None:
            return
        if case.card_message_id is None:
            if case.status in (DeskStatus.WAITING, DeskStatus.WITH_OPERATOR):
                raise CardNotPostedError(f"case {case.id}: its card is not posted yet")
            return  # handed back before any card: nobody reads it
        await self.forum.edit_card(case)

    async def _resume_closed(self) -> None:
        """Cases closed in the last day whose final summary (and drafts) were never asked for
        (a stop between the close and its jobs)."""
        since = dt.datetime.now(dt.UTC) - dt.timedelta(days=1)
        async with self.service.sessionmaker() as session:
            missing = await InsightJobRepository(session).closed_without(FINAL, since)
        for case_id in missing:
            case = await self.service.cases.case_view(case_id)
            if case is not None:
                await self.request_final_summary(case)

    async def _summary_failed(self, result: JobResult) -> None:
        """Given up: the card says the model was not available instead of "being prepared"."""
        case = await self.service.cases.case_view(result.case_id) if result.case_id else None
        if case is not None and case.card_message_id is not None:
            await self.forum.edit_card(case)

    async def _drafts_arrived(self, result: JobResult) -> None:
        """Store the case's FAQ drafts (scrubbed, deduplicated) and post them for review;
        raising (Telegram refused) applies the job again later: stored once, posted once."""
        assert self.faq is not None
        assert self.kb_review is not None
        drafts = await self.faq.store(result)
        log.info("support desk: %d FAQ drafts from case %s", len(drafts), result.case_id)
        await self.kb_review.post_unposted()

    async def _post_drafts(self) -> None:
        assert self.kb_review is not None
        try:
            await self.kb_review.post_unposted(at_start=True)
        except (OutboxError, TelegramAPIError) as exc:
            log.warning("support desk: FAQ drafts not posted yet: %s", exc)

    async def post_gaps(self, days: int = 7) -> bool:
        """The top content gaps of the last `days`, in the "Knowledge base" topic (the support
        chat itself when there is no review topic). False when nothing was posted."""
        assert self.gaps is not None
        from bot.features.desk.insights.gaps import format_gaps

        gaps = await self.gaps.run(days)
        text = "📊 " + format_gaps(gaps, days, limit=10)
        thread = await self.kb_review.thread() if self.kb_review is not None else None
        send = SendMessage(chat_id=self.chat_id, message_thread_id=thread, text=text[:4000])
        await self.outbox.call(self.chat_id, send)
        return True

    async def _gaps_forever(self) -> None:
        """Every INSIGHTS_INTERVAL, one replica (the one whose claim wins) posts the gaps."""
        every = dt.timedelta(seconds=self.gaps_every)
        while True:
            await asyncio.sleep(min(60.0, self.gaps_every / 4))
            try:
                async with self.service.sessionmaker() as session:
                    mine = await InsightJobRepository(session).claim_run(
                        "gap_report", dt.datetime.now(dt.UTC), every
                    )
                    await session.commit()
                if mine:
                    await self.post_gaps()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("support desk: the content-gap report failed; tried next time")

    async def _final_summary_arrived(self, result: JobResult) -> None:
        await self.summaries.store(result)
