"""Shared test configuration. Fixtures specific to a layer live beside its tests."""

from __future__ import annotations

from collections.abc import AsyncIterator, Generator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

from bot.features.installed import load_texts
from bot.testing.clock import VirtualClock
from tests import cpu_report, marks
from tests.e2e import faults_table

# The shared fixtures live in their own modules, loaded as pytest plugins (not re-exported):
# databases (migrated SQLite files, PostgreSQL when reachable), Redis (the shared server, a
# unique key prefix per test, a cuttable proxy to it) and PostgreSQL with pgvector (the
# pgserver wheel's binaries, started on a Unix socket).
pytest_plugins = ("tests.db", "tests.redis_server", "tests.pgvector_server")

REPO_ROOT = Path(__file__).resolve().parent.parent
# Recorded Yandex responses (Apache-2.0, see its LICENSE), kept in the repository so that a
# clone with nothing beside it runs the whole suite.
FIXTURES = REPO_ROOT / "tests" / "fixtures" / "foundation-models"

# Hypothesis's per-example deadline (200 ms) and its "too slow" health check are wall-clock
# checks: on a busy machine they fail properties that hold. Properties are judged by their
# examples only; the pytest timeout still catches a hang.
settings.register_profile(
    "fmbot", deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile("fmbot")


@pytest.fixture(autouse=True)
def _no_real_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests never pick up a developer's .env or real credentials."""
    for name in ("YANDEX_API_KEY", "YANDEX_IAM_TOKEN", "YANDEX_SA_KEY_FILE", "TELEGRAM_BOT_TOKEN"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
async def virtual_clock() -> AsyncIterator[VirtualClock]:
    """The test's event loop on the test kit's virtual clock (bot/testing/clock.py): what the
    code times with asyncio (sleeps, timeouts, backoffs, pacing) happens at once, in order,
    while no socket, thread or child process works for the loop. What reads the wall clock
    (`time.time()`, the database's timestamps) does not move."""
    clock = VirtualClock.of()
    assert clock is not None, "the test's loop has a selector"
    with clock.running():
        yield clock


def pytest_configure(config: pytest.Config) -> None:
    # The fault suite's table is registered here, not in tests/e2e/conftest.py: under
    # pytest-xdist the process that prints the summary collects nothing, so it loads only
    # this conftest, and it sees the scenarios only through the workers' reports.
    config.pluginmanager.register(faults_table.ScenarioTable(), "fault-scenarios")
    # FMBOT_TEST_CPU=path: each test's CPU, its children's and each worker's collection,
    # appended to that file (python -m tests.cpu_report path prints the tables).
    cpu_report.register(config)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item: pytest.Item) -> Generator[None, object, object]:
    """The running test, for the `process` mark's check (tests/marks.py)."""
    marks.running(item)
    try:
        return (yield)
    finally:
        marks.running(None)


def pytest_collection_finish(session: pytest.Session) -> None:
    # Every feature's texts registered, as the bot's composition root registers them before
    # any feature is built (bot/features/installed.py: load_texts): a test that calls a
    # feature's code directly reads the same texts whatever ran before it on its worker.
    load_texts()
    # (fmbot's pytest plugin pauses the garbage collector while this process collects, and
    # freezes what it imported: bot/testing/pytest_plugin.py.)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        # End to end (tests/e2e: the bot `run` builds, against the fakes on loopback): left
        # out of the fast lane, as the tests marked `slow` are.
        if item.nodeid.startswith("tests/e2e/"):
            item.add_marker(pytest.mark.slow)
        # A test on the PostgreSQL server (directly or with pgvector) is marked `postgres`,
        # as the database fixtures' PostgreSQL case is (tests/db.py).
        if {"postgres_server", "pgvector_server"} & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.postgres)
        # ./scripts/test's build step collects tests/framework alone: a `build` test elsewhere
        # would run in neither step.
        if item.get_closest_marker("build") and not item.nodeid.startswith("tests/framework/"):
            raise pytest.UsageError(f"{item.nodeid}: `build` tests live in tests/framework")
        # ./scripts/test's process step collects tests/e2e alone (a process test elsewhere
        # would run in neither step), and the in-process step leaves the mark out.
        if item.get_closest_marker("process") and not item.nodeid.startswith("tests/e2e/"):
            raise pytest.UsageError(f"{item.nodeid}: `process` tests live in tests/e2e")
