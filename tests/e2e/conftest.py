"""Fixtures for end-to-end tests: ``e2e`` setups (fakes started, bot not yet started), ``world``
(the bot shared by the fault scenarios, see faults_world.py). The fault suite's table
(faults_table.py) is kept by tests/conftest.py."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import pytest_asyncio

from tests.e2e.faults_world import World, start_world, stop_world
from tests.e2e.harness import E2E


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    """Remember each phase's report on the item, so fixtures can tell that a test failed."""
    outcome = yield
    report = outcome.get_result()  # type: ignore[attr-defined]
    setattr(item, f"report_{report.when}", report)


def _print_log_on_failure(request: pytest.FixtureRequest, setup: E2E) -> None:
    report = getattr(request.node, "report_call", None)
    if report is not None and report.failed and setup.bot.log_path.exists():
        print(f"--- bot log ({setup.bot.log_path}), last lines:\n{setup.bot.log_tail(80)}")


@pytest.fixture
async def e2e(tmp_path: Path, request: pytest.FixtureRequest) -> AsyncIterator[E2E]:
    """Long-polling bot against the fakes; call ``await e2e.start_bot()`` in the test. A test
    not marked `process` gets the bot in the test's own process (`E2E(in_process=True)`)."""
    in_process = request.node.get_closest_marker("process") is None
    async with E2E(tmp_path, in_process=in_process) as setup:
        yield setup
        _print_log_on_failure(request, setup)


@pytest.fixture
async def e2e_webhook(tmp_path: Path, request: pytest.FixtureRequest) -> AsyncIterator[E2E]:
    """The same in webhook mode (TELEGRAM_MODE=webhook on a free loopback port)."""
    async with E2E(tmp_path, mode="webhook") as setup:
        yield setup
        _print_log_on_failure(request, setup)


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def world(
    tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> AsyncIterator[World]:
    """The bot shared by the fault scenarios; starting it launches every selected one."""
    e2e, shared = await start_world(tmp_path_factory.mktemp("world"), request.session.items)
    try:
        yield shared
    finally:
        await stop_world(e2e, shared)
