"""Long polling with several replicas: only the holder of the poller's lease polls.

Telegram answers 409 Conflict to a second getUpdates, so replicas sharing a token elect one
poller through Redis (bot/coordination/leadership.py). The others wait as hot standbys (their
metrics and health endpoints up, nothing else started); when the poller dies its lease expires
and one standby starts polling. The new poller's first getUpdates carries no offset, so
Telegram hands it every update the dead one had not confirmed, and the database's update claims
drop those it had already handled.

A poller that loses its lease (Redis unreachable past the lease's time, or taken over) stops
polling at once, stands down (`TelegramApp.stand_down`: its running answers are relinquished,
left for the new poller to answer again, and what is queued stays in the durable queue) and
waits as a standby again, in the same process: it polls again when it next gets the lease.
SIGTERM/SIGINT end the process cleanly in every state: standing by (at once), polling (the
graceful shutdown, cut short if the lease is lost during it), standing down (once it has).
"""

from __future__ import annotations

import asyncio
import logging

from bot.coordination import Leadership
from bot.coordination.stopping import stop_tasks
from bot.metrics import registry as metrics
from bot.telegram.app import TelegramApp
from bot.telegram.startup import stop_polling, stopping

log = logging.getLogger(__name__)


async def poll_when_leading(
    app: TelegramApp,
    leadership: Leadership,
    *,
    polling_timeout: int = 25,
    stop: asyncio.Event | None = None,
    started: asyncio.Event | None = None,
) -> None:
    """Stand by until this replica holds the lease, poll while it does, stand by again when
    it is lost; return after SIGTERM/SIGINT (or once `stop` is set). `started` is set once
    the replica runs (standing by or polling)."""
    # Ours in every state: aiogram's own signal handlers are not installed.
    with stopping(stop) as stop:
        stood_down = False  # the app ran since its last shutdown: shut it down first
        if started is not None:
            started.set()
        try:
            while not stop.is_set():
                leading = asyncio.Event()
                term = asyncio.create_task(
                    _term(app, leadership, stop, leading, polling_timeout), name="poller-term"
                )
                stopped = asyncio.create_task(stop.wait())
                try:
                    await asyncio.wait({term, stopped}, return_when=asyncio.FIRST_COMPLETED)
                finally:
                    stopped.cancel()
                if not term.done() and not leading.is_set():
                    log.info("stop asked for while standing by: stopping")
                    # Waiting for the lease calls Redis, where a cancellation can be lost:
                    # cancel again until it ends (coordination/stopping.py).
                    await stop_tasks(term)
                    break
                # A term that is polling handles the signal itself (and shuts the app down).
                stood_down = await term
                if not stood_down:
                    break
            if stood_down:
                await app.shutdown()
        finally:
            await app.bot.session.close()


async def _term(
    app: TelegramApp,
    leadership: Leadership,
    stop: asyncio.Event,
    leading: asyncio.Event,
    polling_timeout: int,
) -> bool:
    """One term: wait for the lease, then poll until a signal (shut down: False) or until
    the lease is lost (stand down: True)."""
    async with leadership.lead() as keeper:
        leading.set()
        metrics.leader(True)
        try:
            return await _poll_while_held(app, stop, keeper.lost, polling_timeout)
        finally:
            metrics.leader(False)


async def _poll_while_held(
    app: TelegramApp, stop: asyncio.Event, lost: asyncio.Event, polling_timeout: int
) -> bool:
    polling = asyncio.create_task(app.poll(polling_timeout, handle_signals=False), name="poll")
    ended = [asyncio.create_task(stop.wait()), asyncio.create_task(lost.wait())]
    try:
        await asyncio.wait({polling, *ended}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in ended:
            task.cancel()
    if lost.is_set():
        log.error("the poller's lease is lost: stopping polling now")
    elif stop.is_set():  # a signal, or a program leaving `async with app`: no warning
        log.info("stop asked for: stopping polling")
    try:
        await stop_polling(app.dp, polling)
    finally:
        metrics.leader(False)
        if lost.is_set():
            await app.stand_down()
            log.warning("lease lost: stopped polling, standing by")
        else:
            await _shut_down(app, lost)
    return lost.is_set()


async def _shut_down(app: TelegramApp, lost: asyncio.Event) -> None:
    """The graceful shutdown, the lease still held: answers may finish for a while. Should
    the lease be lost meanwhile, those still running are stopped at once and what is queued
    is left for the new poller, whose start-up resumes it."""
    shutdown = asyncio.create_task(app.shutdown())
    gone = asyncio.create_task(lost.wait())
    try:
        await asyncio.wait({shutdown, gone}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        gone.cancel()
    if not shutdown.done():
        log.error("the poller's lease is lost during the shutdown: stopping the answers now")
        await app.queues.abandon_all(app.shutdown_settle)
    await shutdown
