"""The tests measured slow, for `./scripts/test --fast` (the edit-test loop).

A test is `slow` when it says so (`@pytest.mark.slow`) or when it is listed in
`tests/slow.txt`: the tests whose setup, call and teardown took `LIMIT` seconds or more in a
whole run of the suite in process, measured, not guessed. The root conftest marks the listed
ones. A test missing from the list runs in the fast lane (a new test is the one being
written); the list is rewritten from a run's JUnit report:

    ./scripts/test --functional --junitxml=/tmp/suite.xml
    .venv/bin/python -m tests.durations /tmp/suite.xml          # rewrites tests/slow.txt

With `--add` (a fast lane's report: the slow tests were not run, so not measured) the tests
found slow are added to the list and none is taken off.
"""

from __future__ import annotations

import argparse
import xml.etree.ElementTree as ET
from pathlib import Path

LIST = Path(__file__).resolve().parent / "slow.txt"
# Seconds of setup, call and teardown, as a run on four workers measures them on the 2-core
# machine (so, with the other workers' load: about twice what the test costs alone).
LIMIT = 0.3


def listed() -> frozenset[str]:
    """The node ids in the list (empty when there is no list)."""
    if not LIST.exists():
        return frozenset()
    lines = LIST.read_text(encoding="utf-8").splitlines()
    return frozenset(line for line in lines if line and not line.startswith("#"))


def measured(report: Path) -> dict[str, float]:
    """Each test's seconds (setup, call and teardown) in a JUnit report, by node id."""
    found: dict[str, float] = {}
    for case in ET.parse(report).iter("testcase"):
        classname, name = case.get("classname", ""), case.get("name", "")
        parts = classname.split(".")
        # pytest's classname is the module's dotted path, then the class, if any.
        for cut in range(len(parts), 0, -1):
            path = Path(*parts[:cut]).with_suffix(".py")
            if (LIST.parent.parent / path).exists():
                node = "::".join([path.as_posix(), *parts[cut:], name])
                found[node] = float(case.get("time") or 0.0)
                break
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.durations", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("report", type=Path, help="a JUnit XML report (pytest --junitxml)")
    parser.add_argument("--add", action="store_true", help="add to the list, take none off")
    parser.add_argument("--limit", type=float, default=LIMIT, help=f"seconds (default {LIMIT})")
    args = parser.parse_args(argv)
    times = measured(args.report)
    slow = {node for node, seconds in times.items() if seconds >= args.limit}
    if args.add:
        slow |= listed()
    header = (f"# Tests that took {args.limit} s or more in a whole run in process "
              "(tests/durations.py): left out of ./scripts/test --fast.\n")
    LIST.write_text(header + "".join(f"{node}\n" for node in sorted(slow)), encoding="utf-8")
    print(f"{len(slow)} of {len(times)} measured tests listed slow in {LIST.name}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
