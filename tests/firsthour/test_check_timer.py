"""Issue 64, item 4: `fmbot check`'s timers measure the network, not this process. The
modules a check imports are imported before its timer starts, and a check that times out on
a machine too busy to run the bot says so instead of "check the network".

No test here measures time: each makes the failure mode real by blocking the event loop on
purpose for longer than the check may take (the way a busy machine does), and judges by the
line the check printed."""

from __future__ import annotations

import importlib.abc
import sys
import time
from collections.abc import AsyncIterator, Sequence
from types import ModuleType
from typing import Any

import pytest

import bot.telegram
from bot.cli.checks import run_checks
from bot.testing.clock import VirtualClock
from tests.fakes.telegram.server import TelegramServer
from tests.fakes.yandex.server import FakeFoundationModels
from tests.operations.test_check import API_KEY, FOLDER, TOKEN, by_name, settings_for

EACH_WITHIN = 2.0
# Longer than a check may take: a timer that counts it cannot pass.
BLOCKED = EACH_WITHIN + 0.5


@pytest.fixture
async def fakes() -> AsyncIterator[tuple[TelegramServer, FakeFoundationModels]]:
    async with TelegramServer(TOKEN) as tg, FakeFoundationModels(
        api_key=API_KEY, folder_id=FOLDER
    ) as fm:
        yield tg, fm


# The slow import's budget and how long it takes, on the loop's virtual clock: a budget no
# busy machine's real work comes near (the checks run beside each other in one loop, and at
# two seconds a CI run's load once took them past it), and an import well past it.
IMPORT_BUDGET = 30.0
IMPORT_TAKES = 2 * IMPORT_BUDGET


class _SlowImport(importlib.abc.MetaPathFinder):
    """Importing `name` takes IMPORT_TAKES seconds of the loop's clock (a busy machine
    importing aiogram, as the loop sees it), then the ordinary finders import it."""

    def __init__(self, name: str, clock: VirtualClock) -> None:
        self.name = name
        self.clock = clock
        self.imported = 0

    def find_spec(self, fullname: str, path: Sequence[str] | None,
                  target: ModuleType | None = None) -> None:
        if fullname == self.name:
            self.imported += 1
            self.clock.skipped += IMPORT_TAKES  # the loop's time jumps, as after a stall
        return None


async def test_a_slow_import_is_not_counted_against_the_server(
    fakes: tuple[TelegramServer, FakeFoundationModels], sqlite_url: str,
    monkeypatch: pytest.MonkeyPatch, virtual_clock: VirtualClock,
) -> None:
    """The Telegram check's module is imported afresh, slowly (twice the check's budget); the
    server answers at once: the check passes. (Counted, the import would end its timer.)"""
    tg, fm = fakes
    name = "bot.telegram.startup"
    slow = _SlowImport(name, virtual_clock)
    monkeypatch.delitem(sys.modules, name, raising=False)
    monkeypatch.setattr(bot.telegram, "startup", getattr(bot.telegram, "startup", None),
                        raising=False)
    monkeypatch.setattr(sys, "meta_path", [slow, *sys.meta_path])
    outcomes = await run_checks(settings_for(tg, fm, sqlite_url), each_within=IMPORT_BUDGET)
    assert slow.imported == 1
    telegram = by_name(outcomes)["telegram"]
    assert telegram.ok, telegram.line()


async def test_a_busy_machine_is_reported_as_busy_not_as_the_network(
    fakes: tuple[TelegramServer, FakeFoundationModels], sqlite_url: str
) -> None:
    """The process gets no CPU for longer than the check may take, while getMe is under
    way: the line says the machine was busy, and does not send the reader to the network."""
    tg, fm = fakes
    answer = tg.methods["getme"]

    async def held_up(params: Any, call: Any) -> Any:
        time.sleep(BLOCKED)  # noqa: ASYNC251 - the whole process stalls, as at load 10
        return await answer(params, call)

    tg.methods["getme"] = held_up
    outcomes = await run_checks(settings_for(tg, fm, sqlite_url), each_within=EACH_WITHIN)
    telegram = by_name(outcomes)["telegram"]
    assert not telegram.ok
    assert f"no answer within {EACH_WITHIN:g} s" in telegram.detail
    assert "too busy" in telegram.detail
    assert "network" not in telegram.fix.split("(")[0]
