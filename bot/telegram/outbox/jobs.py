"""What a chat lane schedules: calls to make, and the jobs that produce them."""

from __future__ import annotations

import abc
import asyncio
import logging
from dataclasses import dataclass
from typing import Any, TypeVar

from aiogram.methods import TelegramMethod

from bot.telegram.outbox.botapi import ApiCall
from bot.telegram.outbox.budget import Priority
from bot.telegram.outbox.errors import ChatUnreachableError, Failure
from bot.telegram.render import RenderedText

log = logging.getLogger(__name__)
T = TypeVar("T")


async def awaited(delivery: asyncio.Future[T]) -> T:
    """The delivery's result, awaited shielded: a caller cancelled meanwhile (a job
    relinquished, /stop) does not cancel the delivery. The delivery's failure is then nobody's
    to read, and asyncio would log it as an ERROR ("Future exception was never retrieved"):
    it is read here, and logged at DEBUG."""
    try:
        return await asyncio.shield(delivery)
    except asyncio.CancelledError:
        delivery.add_done_callback(_left)
        raise


def _left(delivery: asyncio.Future[Any]) -> None:
    if not delivery.cancelled() and (exc := delivery.exception()) is not None:
        log.debug("a delivery its caller no longer waited for failed: %r", exc)


@dataclass(slots=True)
class Call:
    """One Bot API request a job wants to make now.

    ``heavy`` calls spend the chat's budget (messages, edits, drafts, deletes, photos); light
    ones (chat actions) only the bot-wide budget. ``priority`` orders the call in the bot-wide
    budget; drafts (``is_draft``) spend the chat's draft budget and the bot-wide draft budget,
    everything else the chat's message budget and the bot-wide message budget.
    """

    method: TelegramMethod[Any] | ApiCall  # ApiCall: our own JSON path (botapi.py)
    heavy: bool
    tag: str
    index: int = -1
    payload: RenderedText | None = None
    priority: Priority = Priority.FINAL

    @property
    def is_draft(self) -> bool:
        return self.tag in ("draft", "empty_draft", "rich_draft")


@dataclass(slots=True)  # not frozen: made several times per call, plain __init__ is cheaper
class Slots:
    """When a lane may make each kind of call (all >= ``gate``, the end of any pause):
    ``message`` for finals, first frames and other calls; ``frame`` for later frames that are
    messages or edits (they keep a reserve of the chat's budget for the final); ``draft`` for
    drafts (the chat's own draft budget, after any draft-only pause); ``draft_frame`` for
    later draft frames (they keep a draft in reserve for the final text's preview).
    """

    now: float
    gate: float
    message: float
    frame: float
    draft: float
    draft_frame: float

    @property
    def draft_ok(self) -> bool:
        return self.now >= self.draft


class Job(abc.ABC):
    """Something a lane works on; it decides its next call each time the lane may send."""

    @property
    @abc.abstractmethod
    def done(self) -> bool: ...

    @abc.abstractmethod
    def ready_at(self, slots: Slots) -> float | None:
        """When the next call could go; None when there is nothing to do until woken."""

    @abc.abstractmethod
    def next_call(self, slots: Slots) -> Call | None:
        """The call to make now, or None when the job updated itself and has nothing to send."""

    @abc.abstractmethod
    def on_success(self, call: Call, result: Any, now: float) -> None: ...

    @abc.abstractmethod
    def on_failure(self, call: Call, failure: Failure, exc: BaseException, now: float) -> None: ...

    @property
    @abc.abstractmethod
    def waiter(self) -> asyncio.Future[Any] | None:
        """The future a caller awaits for this job, if any."""

    def update_grace(self, slots: Slots) -> float:
        """When the lane waits for this job's next call: 0 wakes it at the call's time; more
        lets it wait for the job's next update after that time, this much longer at most."""
        return 0.0

    def preview_call(self) -> Call | None:
        """A draft to make while this job's final waits for its bot-wide slot (StreamHandle:
        the whole final text, as drafts are outside the messages' budget); None: nothing."""
        return None

    @abc.abstractmethod
    def abort(self, exc: BaseException) -> None:
        """The outbox is closing: fail whoever waits for this job."""


class StreamJob(Job):
    """A job that stays on its lane while its answer streams (a `StreamHandle`): the lane
    picks its next frame beside the ops, until `streaming` is False."""

    @property
    @abc.abstractmethod
    def streaming(self) -> bool: ...


class CallJob(Job):
    """A single paced call made for a caller who awaits its result (``Outbox.call``)."""

    def __init__(self, chat_id: int, method: TelegramMethod[Any], heavy: bool) -> None:
        self.chat_id = chat_id
        self.method = method
        self.heavy = heavy
        self.future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()

    @property
    def done(self) -> bool:
        return self.future.done()

    @property
    def waiter(self) -> asyncio.Future[Any] | None:
        return self.future

    def ready_at(self, slots: Slots) -> float | None:
        return slots.message if self.heavy else slots.gate

    def next_call(self, slots: Slots) -> Call | None:
        return Call(self.method, self.heavy, "call")

    def on_success(self, call: Call, result: Any, now: float) -> None:
        if not self.future.done():
            self.future.set_result(result)

    def on_failure(self, call: Call, failure: Failure, exc: BaseException, now: float) -> None:
        if self.future.done():
            return
        if failure is Failure.CHAT_GONE:
            error: BaseException = ChatUnreachableError(self.chat_id, str(exc))
            error.__cause__ = exc
            self.future.set_exception(error)
        else:
            self.future.set_exception(exc)

    def abort(self, exc: BaseException) -> None:
        if not self.future.done():
            self.future.set_exception(exc)
