"""A shutdown still running after its time says where every pending task waits."""

from __future__ import annotations

import asyncio
import logging
import os
import signal

import pytest

from bot.telegram.shutdownwatch import watch_shutdown
from bot.telegram.startup import restore_signals, stop_on_signals


async def test_a_slow_shutdown_reports_where_each_pending_task_waits(
    caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str]
) -> None:
    caplog.set_level(logging.WARNING, logger="bot.telegram.shutdownwatch")
    never = asyncio.Event()

    async def closing_a_client() -> None:
        await never.wait()

    async def cleaning_up() -> None:
        await closing_a_client()

    stuck = asyncio.create_task(cleaning_up(), name="stuck-cleanup")
    watch_shutdown(asyncio.get_running_loop(), after=0.3)
    await asyncio.sleep(0.1)
    assert caplog.text == ""  # not yet
    try:
        async with asyncio.timeout(3):
            while "tasks pending" not in caplog.text:  # noqa: ASYNC110
                await asyncio.sleep(0.02)
    finally:
        stuck.cancel()
    assert "stuck-cleanup: cleaning_up (test_shutdownwatch.py:" in caplog.text
    assert "> closing_a_client (test_shutdownwatch.py:" in caplog.text
    assert "> wait (locks.py:" in caplog.text  # down to where it really waits
    assert "most recent call first" in capfd.readouterr().err  # every thread's stack


@pytest.mark.slow
@pytest.mark.parametrize("finished", [True, False])
async def test_a_finished_shutdown_reports_nothing_in_a_process_that_goes_on(
    finished: bool, caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str]
) -> None:
    """The bot run inside another process (a test's, a program embedding it): once its
    shutdown is over, the watch its stop signal started is cancelled; one not told so (the
    control) reports after its time, as a stuck shutdown would."""
    caplog.set_level(logging.WARNING, logger="bot.telegram.shutdownwatch")
    stop = stop_on_signals(report_after=0.3)
    try:
        os.kill(os.getpid(), signal.SIGTERM)
        async with asyncio.timeout(5):
            await stop.wait()
    finally:
        restore_signals()
    if finished:
        stop.finished()
        await asyncio.sleep(0.6)  # twice the report's time (cancelled, it never comes)
        assert "most recent call first" not in capfd.readouterr().err
        assert "shutdown still running" not in caplog.text
    else:
        async with asyncio.timeout(10):
            while "shutdown still running" not in caplog.text:  # noqa: ASYNC110
                await asyncio.sleep(0.02)
        assert "most recent call first" in capfd.readouterr().err
