"""The `process` mark, enforced: a test that starts a bot process (`python -m bot ...`, the
`fmbot` script, an App's bot) says so with `@pytest.mark.process`.

Behaviour is tested in process, through `bot.testing` and `tests/cli.py`; a bot process costs a
fresh interpreter (about 3.7 CPU-seconds, bench/bench_startup.py) and is kept for where the
process is the subject: signals and graceful shutdown, SIGKILL and restart recovery, the
webhook server, replicas and failover, database and Redis outages, the entry point's exit
codes. `./scripts/test` runs the process tests as a step of their own. The helpers that start a
bot process call `bot_process_allowed()`, so an unmarked test that starts one fails saying so.
"""

from __future__ import annotations

import pytest

_current: pytest.Item | None = None


def running(item: pytest.Item | None) -> None:
    """The test now running in this worker (tests/conftest.py sets it), None between tests."""
    global _current
    _current = item


def bot_process_allowed() -> None:
    """Fail unless the running test is marked `process` (outside a test, e.g. in a benchmark,
    a bot process is always allowed)."""
    if _current is not None and _current.get_closest_marker("process") is None:
        raise pytest.UsageError(
            f"{_current.nodeid} starts a bot process: mark it @pytest.mark.process (a process "
            "test: the process is its subject) or test the behaviour in process (bot.testing, "
            "tests/cli.py)"
        )
