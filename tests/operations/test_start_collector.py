"""The garbage collector is paused while a command starts and given back after
(bot/collector.py): a command that ends, fails or is resumed early leaves it running,
and a program that disabled it itself keeps it disabled."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.collector import pause_collector, resume_collector
from tests.cli import run_bot


@pytest.fixture(autouse=True)
def _collector_back() -> Iterator[None]:
    """Whatever a test does, the worker's collector is on after it."""
    yield
    resume_collector()
    gc.enable()


def test_paused_for_the_block_and_back_after_it() -> None:
    assert gc.isenabled()
    with pause_collector():
        assert not gc.isenabled()
        with pause_collector():  # a nested pause neither enables it early nor late
            assert not gc.isenabled()
        assert not gc.isenabled()
    assert gc.isenabled()


def test_resumed_early_it_stays_on_and_the_block_end_changes_nothing() -> None:
    with pause_collector():
        resume_collector()
        assert gc.isenabled()
        resume_collector()  # twice: nothing more
        assert gc.isenabled()
    assert gc.isenabled()


def _failing_start() -> None:
    with pause_collector():
        assert not gc.isenabled()
        raise RuntimeError("the start failed")


def test_a_failed_start_gives_it_back() -> None:
    with pytest.raises(RuntimeError):
        _failing_start()
    assert gc.isenabled()


def test_a_program_that_disabled_it_keeps_it_disabled() -> None:
    gc.disable()
    with pause_collector():
        resume_collector()
        assert not gc.isenabled()
    assert not gc.isenabled()


def test_a_command_line_leaves_the_collector_on(tmp_path: Path) -> None:
    """`fmbot settings` and a line that fails its checks, through the command line's `main`
    (as `python -m bot` runs it): each leaves the process's collector running."""
    done = run_bot(["settings"], env={"PATH": "/usr/bin:/bin"}, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert gc.isenabled()
    refused = run_bot(["run"], env={"PATH": "/usr/bin:/bin"}, cwd=tmp_path)
    assert refused.returncode != 0
    assert gc.isenabled()


async def test_a_tester_starts_with_it_paused_and_gives_it_back() -> None:
    from bot import App, RunContext
    from bot.testing import BotTester

    during: list[bool] = []
    app = App(env_file=None)

    @app.on_startup
    async def seen(ctx: RunContext) -> None:
        during.append(gc.isenabled())

    async with BotTester(app) as tester:
        assert gc.isenabled()
        assert (await tester.user("Anna").says("hi")).text == "hi"
    assert during == [False]
    gc.disable()  # a test that turned it off keeps it off through a tester's start
    async with BotTester(app):
        assert not gc.isenabled()
    assert during == [False, False]
