"""The loop of one chat lane: picks the lane's next call, waits for the chat's and the
bot-wide budgets, makes it (Bot API errors, 429s and retries handled here) and spends the
budgets. ``Outbox`` starts one of these tasks per busy chat (core.py)."""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Callable
from contextvars import ContextVar
from typing import Any

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError, TelegramBadRequest, TelegramRetryAfter

from bot.telegram.outbox.botapi import ApiCall, BotApi
from bot.telegram.outbox.budget import BotBudget, Priority
from bot.telegram.outbox.errors import Failure, classify
from bot.telegram.outbox.jobs import Job
from bot.telegram.outbox.lane import Lane
from bot.telegram.outbox.newer import STOP_FIELDS, OlderServer, named_fields

logger = logging.getLogger(__name__)

# Set in every lane task: its Bot API calls are made by the outbox itself.
IN_OUTBOX: ContextVar[bool] = ContextVar("fmbot_in_outbox", default=False)
SLOW_GRANT = 20.0  # seconds a call may wait for a bot-wide slot before the log says so
# asyncio runs a timer up to the clock's resolution early, and slot times are sums of float
# intervals that land a hair (1e-17 s) past the clock meant to reach them: within a
# microsecond counts as reached, or the lane would sleep that hair again and again (forever
# on a clock that steps exactly to its timers, as the tests' virtual one does).
SAME_TIME = 1e-6


def _slow_grant(chat_id: int, priority: Priority, budget: BotBudget) -> None:
    logger.warning(
        "chat %s: a %s call has waited %.0f s for a bot-wide slot (%d waiting in %s)",
        chat_id, priority.name, SLOW_GRANT, getattr(budget, "waiting", -1),
        type(budget).__name__,
    )


class LaneRunner:
    """Makes the calls of chat lanes through one bot's budgets (see ``Outbox`` for the
    settings: ``retry_after_scale``, ``max_attempts``, ``backoff``, ``clock``;
    ``preview`` / ``preview_after``: ``final_preview`` / ``final_preview_after``)."""

    def __init__(
        self,
        bot: Bot,
        *,
        messages: BotBudget,
        drafts: BotBudget,
        retry_after_scale: float,
        max_attempts: int,
        backoff: float,
        clock: Callable[[], float],
        preview: bool = True,
        preview_after: float = 0.25,
    ) -> None:
        self.bot = bot
        self.api = BotApi(bot)
        #: The Bot API 10.3 fields this bot's server refused (newer.py).
        self.older = OlderServer()
        self.messages = messages
        self.drafts = drafts
        self.retry_after_scale = retry_after_scale
        self.max_attempts = max_attempts
        self.backoff = backoff
        self.clock = clock
        self.preview = preview
        self.preview_after = preview_after

    async def run(self, lane: Lane) -> None:
        # This lane task's calls are the outbox's own, even when an added router's handler
        # created the task (bot/telegram/added.py routes only the calls made outside it).
        IN_OUTBOX.set(True)
        try:
            idle_calls = 0
            while True:
                now = self.clock()
                slots = lane.slots(now)
                job, at = lane.pick(slots)
                if job is None:
                    return
                if now < at <= now + SAME_TIME:
                    slots = lane.slots(at)
                    job, at = lane.pick(slots)
                    if job is None:
                        return
                    now = slots.now
                if at > now:
                    # A draft frame that waits for its slot goes with the next update after
                    # it (the newest text, no timer of its own to wake the process for);
                    # ``grace`` later at most, when the model is slow to send one.
                    grace = job.update_grace(slots)
                    lane.update_wakes_at = at if grace else math.inf
                    try:
                        await lane.sleep(at - now + grace)
                    finally:
                        lane.update_wakes_at = math.inf
                    continue
                call = job.next_call(slots)
                if call is None:
                    idle_calls += 1
                    if idle_calls > 100:  # a job that keeps saying "now" but has nothing to do
                        logger.error("outbox lane %s spinning on %r", lane.chat_id, job)
                        await asyncio.sleep(0.05)
                    continue
                idle_calls = 0
                budget = self.drafts if call.is_draft else self.messages
                grant = budget.reserve(call.priority, lane.pace(call))
                if grant is not None:
                    if self.preview and not call.is_draft:
                        try:
                            await self._preview(lane, job, grant)
                        except BaseException:  # the outbox is closing: leave the queue
                            grant.cancel()
                            raise
                    # Visible in the log when a message waits far longer than any budget
                    # should make it (a stuck budget would otherwise be silent).
                    watchdog = asyncio.get_running_loop().call_later(
                        SLOW_GRANT, _slow_grant, lane.chat_id, call.priority, budget
                    )
                    try:
                        granted = await lane.wait_grant(grant)
                    finally:
                        watchdog.cancel()
                    if not granted:
                        continue  # new work (a final) came first: look again
                    # The slot came later: build the call again from the newest text.
                    slots = lane.slots(self.clock())
                    job, at = lane.pick(slots)
                    retry = job.next_call(slots) if job is not None and at <= slots.now else None
                    if job is None or retry is None or retry.is_draft != call.is_draft:
                        budget.refund()
                        continue
                    call = retry
                try:
                    await self._send(lane, job, call)
                finally:  # the call counts in a rolling window until its answer came
                    budget.sent()
                if call.heavy:
                    # Spent when the answer came: the request reached Telegram before that,
                    # however long it waited for a pooled connection, so the chat's next call
                    # arrives at least the budget's interval after it (a lane makes one call
                    # at a time; stamped at the start, a first call that waited in the pool
                    # arrived together with the next, and the fake answered 429).
                    lane.spend(call, self.clock())
        finally:
            lane.task = None

    async def _preview(self, lane: Lane, job: Job, grant: asyncio.Future[None]) -> None:
        """While ``job``'s message waits for ``grant``, make its preview draft (the whole final
        text) ``preview_after`` seconds later (and once the chat's draft budget allows),
        unless the slot comes first. A final whose slot comes soon goes without one: its
        exchange would only delay it (and in a burst, compete with the finals for the
        session's pooled connections)."""
        call = job.preview_call()
        if call is None:
            return
        now = self.clock()
        at = max(lane.slots(now).draft, now + self.preview_after)
        await asyncio.wait((grant,), timeout=at - now)
        if grant.done() or job.preview_call() is None:
            return
        pending = self.drafts.reserve(Priority.FINAL)  # ahead of every waiting frame
        if pending is not None:
            try:
                await asyncio.wait((grant, pending), return_when=asyncio.FIRST_COMPLETED)
            finally:
                pending.cancel()  # a no-op once granted
            if pending.cancelled():  # the message's slot came first
                return
            if grant.done():  # both came: the draft's slot goes back unused
                self.drafts.refund()
                return
        await self._send(lane, job, call)
        lane.drafts.spend(self.clock())

    async def _send(self, lane: Lane, job: Job, call: Any) -> None:
        try:
            result = await self._call(call.method)
        except TelegramRetryAfter as exc:
            delay = exc.retry_after * self.retry_after_scale
            if call.is_draft:  # never holds back the chat's final message
                chat = lane.chat_id
                logger.warning("429 on a draft in chat %s: its drafts wait %.2fs", chat, delay)
                lane.draft_paused_until = max(lane.draft_paused_until, self.clock() + delay)
                self.drafts.flooded(delay)
            else:
                logger.warning("429 in chat %s: pausing it %.2fs", lane.chat_id, delay)
                lane.paused_until = max(lane.paused_until, self.clock() + delay)
                self.messages.flooded(delay)
        except TelegramAPIError as exc:
            failure = classify(exc)
            if failure is Failure.NOT_MODIFIED:
                lane.failures = 0
                job.on_success(call, True, self.clock())
            elif failure is Failure.TRANSIENT and lane.failures < self.max_attempts:
                lane.failures += 1
                delay = self.backoff * 2 ** (lane.failures - 1)
                logger.warning("chat %s: %s; retrying in %.2fs", lane.chat_id, exc, delay)
                lane.paused_until = max(lane.paused_until, self.clock() + delay)
            else:
                lane.failures = 0
                job.on_failure(call, failure, exc, self.clock())
        except Exception as exc:  # a bug or an undecodable reply: never kill the lane
            method = call.method
            name = method.name if isinstance(method, ApiCall) else type(method).__name__
            logger.exception("outbox call %s failed in chat %s", name, lane.chat_id)
            job.on_failure(call, Failure.OTHER, exc, self.clock())
        else:
            lane.failures = 0
            job.on_success(call, result, self.clock())

    async def _call(self, method: Any) -> Any:
        """Make the call; a draft an older Bot API server refuses for its 10.3 stop fields is
        sent again once without them, and they are left out from then on (newer.py)."""
        method = self.older.without(method)
        try:
            return await self._make(method)
        except TelegramBadRequest as exc:
            if not named_fields(exc) & {*STOP_FIELDS}:
                raise
            self.older.learn(exc)
            resend = self.older.without(method)
            if resend is method:
                raise
            return await self._make(resend)

    async def _make(self, method: Any) -> Any:
        return await (self.api(method) if isinstance(method, ApiCall) else self.bot(method))
