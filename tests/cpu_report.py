"""An opt-in report of where the suite's CPU goes (``FMBOT_TEST_CPU=path``).

The suite is CPU-bound on the 2-core CI machine, so wall-clock durations mislead: a test that
waits costs nothing, one that starts a fresh interpreter costs seconds of CPU while looking
short. With ``FMBOT_TEST_CPU`` set, each pytest process (every xdist worker, and the
controller) appends JSON lines to that file: one per test (its wall time, this process's CPU
during it, ``time.process_time``, and the CPU of the child processes reaped during it,
``RUSAGE_CHILDREN``, with the programs it started), and one per process for its start-up and
collection (CPU until the collection finished) and its total.

``python -m tests.cpu_report path`` prints the tables: the costliest tests, the CPU per folder,
what the tests that start a fresh Python interpreter cost, and the workers' collections.
"""

from __future__ import annotations

import json
import os
import resource
import sys
import time
from collections import defaultdict
from collections.abc import Generator
from pathlib import Path
from typing import Any

import pytest


def _children() -> float:
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return kids.ru_utime + kids.ru_stime


def _process_cpu() -> float:
    """This process's CPU since it started (interpreter start-up and imports included)."""
    return time.process_time()


class CpuReport:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
        self.started: list[str] = []
        self.tests = 0
        self.tests_cpu = 0.0
        self.collected_at: float | None = None
        sys.addaudithook(self._audit)

    def _audit(self, event: str, args: tuple[Any, ...]) -> None:
        if event == "subprocess.Popen":
            program, argv = args[0], args[1]
            if isinstance(argv, (list, tuple)):
                words = [os.fsdecode(a) if isinstance(a, bytes) else str(a) for a in argv[:4]]
            else:
                words = [str(argv)[:120]]
            self.started.append(" ".join([str(program or ""), *words])[:200])
        elif event == "os.posix_spawn":
            self.started.append(" ".join(str(a) for a in (args[1] or [])[:4])[:200])

    def _write(self, record: dict[str, Any]) -> None:
        record["worker"] = self.worker
        with self.path.open("a") as out:
            out.write(json.dumps(record) + "\n")

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        self.collected_at = _process_cpu()
        self._write({"kind": "collected", "cpu": self.collected_at, "children": _children()})

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_protocol(self, item: pytest.Item) -> Generator[None, object, object]:
        self.started = []
        own, kids, wall = _process_cpu(), _children(), time.perf_counter()
        try:
            return (yield)
        finally:
            own = _process_cpu() - own
            kids = _children() - kids
            self.tests += 1
            self.tests_cpu += own + kids
            self._write({
                "kind": "test", "nodeid": item.nodeid,
                "wall": round(time.perf_counter() - wall, 4),
                "ended": round(time.time(), 3),
                "own": round(own, 4), "children": round(kids, 4),
                "started": self.started[:20],
                "python": sum(1 for s in self.started if _is_python(s)),
            })

    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        self._write({
            "kind": "finished", "cpu": _process_cpu(), "children": _children(),
            "collected": self.collected_at, "tests": self.tests,
            "tests_cpu": self.tests_cpu,
        })


def _is_python(command: str) -> bool:
    first = command.split(" ", 1)[0]
    return "python" in os.path.basename(first) or first == sys.executable


def register(config: pytest.Config) -> None:
    path = os.environ.get("FMBOT_TEST_CPU")
    if path:
        config.pluginmanager.register(CpuReport(Path(path)), "fmbot-cpu-report")


def _tail(tests: list[dict[str, Any]], seconds: float = 60.0) -> None:
    """The tests that ran in the run's last `seconds`, by worker: what the run waited for at
    its end (a worker without any had run out of work)."""
    timed = [t for t in tests if "ended" in t]
    if not timed:
        return
    end = max(t["ended"] for t in timed)
    print(f"\n--- the run's last {seconds:.0f} s, by worker (wall, CPU, test)")
    for worker in sorted({t["worker"] for t in timed}):
        mine = [t for t in timed if t["worker"] == worker and t["ended"] > end - seconds]
        last = max((t["ended"] for t in timed if t["worker"] == worker), default=end)
        print(f"  {worker}: done {end - last:.1f} s before the end")
        for t in sorted(mine, key=lambda t: -t["wall"])[:5]:
            print(f"    {t['wall']:6.2f} {t['own'] + t['children']:6.2f}  {t['nodeid']}")


def main(path: str, top: int = 40) -> None:
    tests: list[dict[str, Any]] = []
    procs: list[dict[str, Any]] = []
    for line in Path(path).read_text().splitlines():
        record = json.loads(line)
        (tests if record["kind"] == "test" else procs).append(record)
    total = sum(t["own"] + t["children"] for t in tests)
    print(f"{len(tests)} tests: {total:.1f} CPU-s in tests "
          f"(own {sum(t['own'] for t in tests):.1f}, children "
          f"{sum(t['children'] for t in tests):.1f}), wall summed "
          f"{sum(t['wall'] for t in tests):.1f} s")
    print(f"\n--- top {top} tests by CPU (own + children)")
    print(f"{'total':>7} {'own':>6} {'child':>6} {'wall':>6} {'py':>3}  test")
    for t in sorted(tests, key=lambda t: -(t["own"] + t["children"]))[:top]:
        print(f"{t['own'] + t['children']:7.2f} {t['own']:6.2f} {t['children']:6.2f} "
              f"{t['wall']:6.2f} {t['python']:3d}  {t['nodeid']}")
    print("\n--- CPU per folder (tests' own + children)")
    folders: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0, 0.0])
    for t in tests:
        folder = t["nodeid"].split("::", 1)[0].rsplit("/", 1)[0]
        entry = folders[folder]
        entry[0] += t["own"] + t["children"]
        entry[1] += t["wall"]
        entry[2] += 1
    for folder, (cpu, wall, count) in sorted(folders.items(), key=lambda kv: -kv[1][0]):
        print(f"{cpu:8.1f} CPU-s {wall:8.1f} wall-s {int(count):5d} tests  {folder}")
    print("\n--- CPU per file (top 30)")
    files: dict[str, float] = defaultdict(float)
    for t in tests:
        files[t["nodeid"].split("::", 1)[0]] += t["own"] + t["children"]
    for name, cpu in sorted(files.items(), key=lambda kv: -kv[1])[:30]:
        print(f"{cpu:8.1f}  {name}")
    _tail(tests)
    fresh = [t for t in tests if t["python"]]
    print(f"\n--- tests that start a fresh Python interpreter: {len(fresh)}, "
          f"{sum(t['own'] + t['children'] for t in fresh):.1f} CPU-s "
          f"(children {sum(t['children'] for t in fresh):.1f}), "
          f"{sum(t['python'] for t in fresh)} interpreters")
    per_file_fresh: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0])
    for t in fresh:
        entry = per_file_fresh[t["nodeid"].split("::", 1)[0]]
        entry[0] += t["own"] + t["children"]
        entry[1] += t["python"]
    for name, (cpu, count) in sorted(per_file_fresh.items(), key=lambda kv: -kv[1][0]):
        print(f"{cpu:8.1f} CPU-s {int(count):4d} interpreters  {name}")
    others = [t for t in tests if t["started"] and not t["python"]]
    print(f"--- tests that start other programs: {len(others)}, "
          f"{sum(t['own'] + t['children'] for t in others):.1f} CPU-s")
    print("\n--- processes: start-up and collection, total")
    for p in procs:
        if p["kind"] == "finished":
            collected = p["collected"] or 0.0
            print(f"{p['worker']:>5}: collection {collected:6.1f} CPU-s, total {p['cpu']:7.1f} "
                  f"own + {p['children']:6.1f} children, tests {p['tests']} "
                  f"({p['tests_cpu']:.1f} CPU-s), outside tests "
                  f"{p['cpu'] + p['children'] - p['tests_cpu'] - collected:6.1f}")


if __name__ == "__main__":
    main(sys.argv[1], *(int(a) for a in sys.argv[2:3]))
