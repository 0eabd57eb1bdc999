"""The outbox: one outbound scheduler per bot, one lane (and at most one task) per busy chat.

Pacing (https://core.telegram.org/bots/faq#my-bot-is-hitting-limits-how-do-i-avoid-this):
about one message per second per private chat, 20 per minute per group (one every 3 s; edits
count the same), 30 per second per bot. A 429's retry_after pauses the whole chat, as every
request inside the penalty window extends it. Drafts (``sendMessageDraft``) spend budgets of
their own: per chat, and a bot-wide rate that a draft 429 lowers (budget.py); a draft 429
pauses only that chat's drafts, never its final message.

Bot-wide, messages count in a rolling window (window.py: never a 31st in any second), and
every call waits for its slot by priority (budget.py): an answer's first visible text (a
group's first words, or a final that is the first text) before the finals of answers already
partly shown, and those before later frames. A frame is built only once its slot is granted,
from the newest text, so frames that waited are coalesced (latest wins).
"""

from __future__ import annotations

import asyncio
import itertools
import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from aiogram import Bot
from aiogram.methods import SendChatAction, TelegramMethod

from bot.clock import loop_time
from bot.telegram.outbox.budget import AdaptiveBudget, BotBudget
from bot.telegram.outbox.errors import OutboxClosedError
from bot.telegram.outbox.jobs import CallJob, Job, awaited
from bot.telegram.outbox.lane import Budget, ChatWindow, Lane
from bot.telegram.outbox.runner import LaneRunner
from bot.telegram.outbox.stream import StreamHandle
from bot.telegram.outbox.window import WindowBudget
from bot.telegram.render import TELEGRAM_TEXT_LIMIT, RenderedText

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Pacing:
    """How fast the outbox may call Telegram: the defaults stay a little under Telegram's
    limits, so a late wake-up or network jitter cannot tip a chat over.

    ``private_interval`` / ``group_interval``: seconds per message or edit in one chat,
    after a burst of ``private_burst`` / ``group_burst`` (a token bucket per chat; ~1/s per
    private chat and 20/min per group: a group's 3 + 60/3.6 stays within 20 in any minute);
    stream frames leave ``frame_reserve`` (groups: ``group_frame_reserve``) calls in the
    bucket, so an answer's final message goes out at once (and in a group, where a budget
    refills in minutes, the first frame of the next answer as well);
    ``global_rate`` / ``global_window``: messages and edits per second for the whole bot,
    counted in a rolling window of ``global_window`` seconds (window.py: never more than
    ``global_rate * global_window`` in any window); ``group_limit`` / ``group_window``: at
    most that many messages in any window of that many seconds in one group (20 a minute);
    ``draft_interval`` / ``draft_burst``: seconds per draft in one chat after a burst;
    ``draft_reserve``: drafts kept on top of that burst for the preview of a final that waits
    for its bot-wide slot (later frames leave them: the frames' pace does not change);
    ``draft_rate``: the bot-wide ceiling of drafts per second, lowered by a draft 429 (halved,
    down to ``draft_rate_floor``) and climbing back over ``draft_recovery`` seconds;
    ``typing_interval``: how often "typing" is re-sent while an edit-streamed answer has no
    text yet; ``draft_keepalive``: re-send an unchanged draft this often (drafts vanish after
    30 s); ``frame_grace``: a draft frame whose slot has come goes with the stream's next
    update, this much later at most (fewer timers, newer text; 0 = at the slot);
    ``final_preview``: a final that waits for its bot-wide slot shows its whole text as a last
    draft meanwhile, once it has waited ``final_preview_after`` seconds (runner.py);
    ``retry_after_scale``: seconds per unit of ``retry_after`` (1.0; tests shrink it);
    ``max_attempts`` / ``backoff``: retries of 5xx and network errors; ``text_limit``: a
    message's length; ``abandon_after``: a stream without update() for this long stops its
    typing and keepalives.
    """

    private_interval: float = 1.05
    group_interval: float = 3.6
    private_burst: float = 3.0
    group_burst: float = 3.0
    frame_reserve: float = 1.0
    group_frame_reserve: float = 2.0
    global_rate: float = 30.0
    global_window: float = 1.0
    group_limit: int = 20
    group_window: float = 60.0
    draft_interval: float = 1.0
    draft_burst: float = 2.0
    draft_reserve: float = 1.0
    draft_rate: float = 200.0
    draft_rate_floor: float = 5.0
    draft_recovery: float = 60.0
    typing_interval: float = 4.5
    draft_keepalive: float = 20.0
    frame_grace: float = 0.5
    final_preview: bool = True
    final_preview_after: float = 0.25
    retry_after_scale: float = 1.0
    max_attempts: int = 5
    backoff: float = 0.5
    text_limit: int = TELEGRAM_TEXT_LIMIT
    abandon_after: float = 600.0


class Outbox:
    """Every Bot API call for streamed answers goes through here (see module docstring).

    ``pacing``: how fast (Pacing); ``message_budget`` / ``draft_budget``: the bot-wide
    budgets instead of in-process ones (e.g. shared by replicas, bot/telegram/shared*.py);
    ``clock``: time source (the event loop's, which its timers use). Tests run it on a
    virtual clock (looptime) or with all intervals scaled down.
    """

    def __init__(
        self,
        bot: Bot,
        pacing: Pacing = Pacing(),
        *,
        message_budget: BotBudget | None = None,
        draft_budget: BotBudget | None = None,
        clock: Callable[[], float] = loop_time,
    ) -> None:
        p = pacing
        self.bot = bot
        self.pacing = pacing
        # What the streams read (StreamHost, streamhost.py).
        self.typing_interval = p.typing_interval
        self.draft_keepalive = p.draft_keepalive
        self.frame_grace = p.frame_grace
        self.text_limit = p.text_limit
        self.abandon_after = p.abandon_after
        self.clock = clock
        self._messages = message_budget or WindowBudget(
            max(1, round(p.global_rate * p.global_window)), p.global_window, clock=clock
        )
        # A tenth of a second of drafts may go at once: with a burst of one, every late timer
        # (a busy loop) would lose slots, and 200 chats need every slot they can get.
        self._drafts = draft_budget or AdaptiveBudget(
            p.draft_rate,
            floor=p.draft_rate_floor,
            recovery=p.draft_recovery,
            burst=max(1.0, p.draft_rate / 10),
            clock=clock,
        )
        self._runner = LaneRunner(
            bot,
            messages=self._messages,
            drafts=self._drafts,
            retry_after_scale=p.retry_after_scale,
            max_attempts=p.max_attempts,
            backoff=p.backoff,
            clock=clock,
            preview=p.final_preview,
            preview_after=p.final_preview_after,
        )
        #: What this bot's Bot API server refused of Bot API 10.3 (newer.py): drafts leave
        #: the stop fields out, notices go as replies.
        self.older_server = self._runner.older
        self._lanes: dict[int, Lane] = {}
        self._no_drafts: set[int] = set()
        self._draft_ids = itertools.count(random.randint(1, 2**30))
        self._closed = False

    # -- public API ---------------------------------------------------------------------------
    def stream(
        self,
        chat_id: int,
        chat_type: str,
        *,
        draft: bool,
        reply_to: int | None = None,
        thread_id: int | None = None,
        can_stop: bool = True,
        business_connection_id: str | None = None,
    ) -> StreamHandle:
        """Start a streamed answer. Drafts are used only in private chats that accept them.
        `business_connection_id`: the answer goes to a chat of an account connected to the
        bot, as the owner's messages (edited, never drafts: they take no connection)."""
        lane = self._lane(chat_id, chat_type)
        use_draft = (draft and chat_type == "private" and chat_id not in self._no_drafts
                     and business_connection_id is None)
        handle = StreamHandle(
            self,
            lane,
            draft_id=next(self._draft_ids),
            use_draft=use_draft,
            reply_to=reply_to,
            thread_id=thread_id,
            can_stop=can_stop,
            typing=True,
            now=self.clock(),
            business=business_connection_id,
        )
        lane.streams.append(handle)
        self.kick(lane)
        return handle

    async def send_text(
        self,
        chat_id: int,
        text: str | RenderedText,
        *,
        reply_to: int | None = None,
        thread_id: int | None = None,
        chat_type: str | None = None,
        business_connection_id: str | None = None,
    ) -> list[int]:
        """Send plain text (str) or rendered text, split when long; the message ids, in order
        (`business_connection_id`: see `stream`)."""
        lane = self._lane(chat_id, chat_type)
        handle = StreamHandle(
            self,
            lane,
            draft_id=0,
            use_draft=False,
            reply_to=reply_to,
            thread_id=thread_id,
            can_stop=False,
            typing=False,
            now=self.clock(),
            business=business_connection_id,
        )
        return await handle.finish(RenderedText.plain(text) if isinstance(text, str) else text)

    async def call(self, chat_id: int, method: TelegramMethod[T]) -> T:
        """Make any other call (sendPhoto, deleteMessage, sendChatAction...) through the pacing.

        retry_after and transient errors are waited out and retried; other errors are raised
        (``ChatUnreachableError`` when the chat is gone). "Not modified" returns True.
        """
        lane = self._lane(chat_id, None)
        job = CallJob(chat_id, method, heavy=not isinstance(method, SendChatAction))
        self.enqueue(lane, job)
        result: T = await awaited(job.future)
        return result

    def stream_for_draft(self, chat_id: int, draft_id: int) -> StreamHandle | None:
        """The open stream a ``stopped_message_generation`` update refers to, if any."""
        lane = self._lanes.get(chat_id)
        if lane is None:
            return None
        return next((s for s in lane.streams
                     if isinstance(s, StreamHandle) and s.draft_id == draft_id and s.streaming),
                    None)

    def drafts_refused(self, chat_id: int) -> bool:
        return chat_id in self._no_drafts

    async def drain(self) -> None:
        """Wait until every final, send and call already requested has been delivered (or has
        failed). For graceful shutdown, before ``aclose``; bound it with ``asyncio.timeout``."""
        waiters = [
            waiter
            for lane in self._lanes.values()
            for job in lane.ops
            if (waiter := job.waiter) is not None and not waiter.done()
        ]
        if waiters:
            await asyncio.wait(waiters)

    async def aclose(self) -> None:
        """Stop all lanes; pending deliveries fail with ``OutboxClosedError``."""
        self._closed = True
        tasks = [lane.task for lane in self._lanes.values() if lane.task is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for lane in self._lanes.values():
            for job in [*lane.ops, *lane.streams]:
                job.abort(OutboxClosedError("outbox closed"))

    # -- lanes ----------------------------------------------------------------------------------
    def _lane(self, chat_id: int, chat_type: str | None) -> Lane:
        if self._closed:
            raise OutboxClosedError("outbox closed")
        private = chat_type == "private" if chat_type is not None else chat_id > 0
        p = self.pacing
        if private:
            burst, period, reserve = p.private_burst, p.private_interval, p.frame_reserve
        else:
            burst, period, reserve = p.group_burst, p.group_interval, p.group_frame_reserve
        lane = self._lanes.get(chat_id)
        now = self.clock()
        if lane is None:
            if len(self._lanes) > 1024:
                self._prune()
            drafts = Budget(p.draft_burst + p.draft_reserve, p.draft_interval, now)
            window = None if private else self._group_window()
            lane = Lane(chat_id, burst, period, reserve, now, drafts, p.draft_reserve, window)
            self._lanes[chat_id] = lane
        elif chat_type is not None and lane.budget.period != period:
            lane.budget.reshape(burst, period, now)
            lane.reserve = reserve
            lane.window = None if private else lane.window or self._group_window()
        return lane

    def _group_window(self) -> ChatWindow:
        # 20 in any minute (Telegram's documented group limit; the bucket paces under it).
        return ChatWindow(self.pacing.group_limit, self.pacing.group_window)

    def _prune(self) -> None:
        now = self.clock()
        for chat_id, lane in list(self._lanes.items()):
            if (
                lane.idle
                and max(lane.paused_until, lane.draft_paused_until) < now
                and lane.budget.full(now)
                and lane.drafts.full(now)
                and (lane.window is None or lane.window.full(now))
            ):
                del self._lanes[chat_id]

    def enqueue(self, lane: Lane, job: Job) -> None:
        if self._closed:
            job.abort(OutboxClosedError("outbox closed"))
            return
        lane.ops.append(job)
        self.kick(lane)

    def kick(self, lane: Lane) -> None:
        if self._closed:
            return
        if lane.task is None:
            lane.task = asyncio.get_running_loop().create_task(self._runner.run(lane))
        else:
            lane.wake()

    def refuse_drafts(self, chat_id: int) -> None:
        self._no_drafts.add(chat_id)
