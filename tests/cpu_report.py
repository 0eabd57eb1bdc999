"""An opt-in report of the CPU each test file costs (``FMBOT_TEST_CPU_REPORT=path``).

The suite is CPU-bound on a 2-core machine (bot processes, migrations, imports), so wall-clock
durations mislead: a test that waits costs nothing, one that starts five bot processes costs a
lot while looking short. Each worker appends one line per test: its own CPU seconds plus those of
the child processes reaped during the test (its own, and those the run's zygote forked for it:
the bot processes a test starts and stops), so the figures add up to what the suite costs the
machine, less collection and the processes a shared fixture keeps past its tests.
Each line also holds the test's wall-clock start and end and its worker, so the report can
show what each worker ran last (the suite's wall time is its slowest worker's).
``python -m tests.cpu_report path`` sums them per file.
"""

from __future__ import annotations

import os
import resource
import sys
import time
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests import zygote


def _cpu() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime + _forked()


def _forked() -> float:
    """CPU of the processes this worker launched that the run's zygote forked and reaped
    (tests/zygote.py): they are the zygote's children, not the worker's, so the zygote adds
    each one's CPU to this worker's ledger."""
    path = zygote.serving()
    if path is None:
        return 0.0
    try:
        lines = Path(zygote.ledger_path(os.path.dirname(path), os.getpid())).read_text()
    except FileNotFoundError:
        return 0.0
    return sum(float(line) for line in lines.split())


class CpuReport:
    def __init__(self, path: Path) -> None:
        self.path = path

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_protocol(self, item: pytest.Item) -> Iterator[None]:
        before, started = _cpu(), time.time()
        yield
        spent = _cpu() - before
        worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
        with self.path.open("a") as out:
            out.write(f"{spent:.3f}\t{item.nodeid}\t{started:.2f}\t{time.time():.2f}\t{worker}\n")


def register(config: pytest.Config) -> None:
    path = os.environ.get("FMBOT_TEST_CPU_REPORT")
    if path:
        config.pluginmanager.register(CpuReport(Path(path)), "cpu-report")


def main(path: str) -> None:
    per_file: dict[str, float] = defaultdict(float)
    per_test: list[tuple[float, str]] = []
    runs: dict[str, list[tuple[float, float, str]]] = defaultdict(list)  # worker -> tests
    for line in Path(path).read_text().splitlines():
        seconds, nodeid, *wall = line.split("\t")
        per_file[nodeid.split("::", 1)[0]] += float(seconds)
        per_test.append((float(seconds), nodeid))
        if wall:
            runs[wall[2]].append((float(wall[0]), float(wall[1]), nodeid))
    total = sum(per_file.values())
    print(f"{total:.0f} CPU seconds in {len(per_test)} tests")
    for name, cost in sorted(per_file.items(), key=lambda kv: -kv[1])[:40]:
        print(f"{cost:8.1f}  {name}")
    print("--- tests")
    for cost, nodeid in sorted(per_test, reverse=True)[:40]:
        print(f"{cost:8.1f}  {nodeid}")
    if runs:
        begin = min(start for tests in runs.values() for start, _, _ in tests)
        print("--- workers: seconds from the first test's start to each one's last end; the "
              "longest tests each ran (wall)")
        for worker, tests in sorted(runs.items()):
            end = max(stop for _, stop, _ in tests) - begin
            longest = sorted(tests, key=lambda t: t[0] - t[1])[:5]
            print(f"{worker}: {len(tests)} tests, done at {end:.0f} s; " + "; ".join(
                f"{n.rsplit('::', 1)[-1][:50]} {b - a:.0f} s (from {a - begin:.0f})"
                for a, b, n in longest))


if __name__ == "__main__":
    main(sys.argv[1])
