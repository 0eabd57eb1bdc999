"""The fault suite's table: tests marked ``@scenario("...")`` are listed with their result at
the end of the session ("scenario | result"), whatever else ran.

Used from tests/e2e/conftest.py (``record`` in the report hook, ``write`` in the terminal
summary); the ``scenario`` marker is registered in pyproject.toml.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest

_KEY = pytest.StashKey["ScenarioTable"]()


def scenario(name: str) -> pytest.MarkDecorator:
    """Name a test as a scenario of the fault suite (one row of the table)."""
    return pytest.mark.scenario(name)


@dataclass
class Row:
    name: str
    result: str = "PASS"


@dataclass
class ScenarioTable:
    rows: dict[str, Row] = field(default_factory=dict)


def record(item: pytest.Item, report: pytest.TestReport) -> None:
    """Fold one phase's report into the item's row (setup, call, teardown)."""
    marker = item.get_closest_marker("scenario")
    if marker is None or not marker.args:
        return
    table = item.config.stash.setdefault(_KEY, ScenarioTable())
    row = table.rows.setdefault(item.nodeid, Row(str(marker.args[0])))
    if report.skipped and hasattr(report, "wasxfail"):
        row.result = f"XFAIL ({report.wasxfail})"
    elif report.skipped:
        row.result = "SKIP"
    elif report.failed:
        row.result = "ERROR" if report.when != "call" else "FAIL"
    elif report.passed and hasattr(report, "wasxfail") and report.when == "call":
        row.result = "XPASS"  # strict xfails also fail the run


def write(terminal: Any, config: pytest.Config) -> None:
    """Print the table (nothing when no scenario ran)."""
    table = config.stash.get(_KEY, None)
    if table is None or not table.rows:
        return
    rows = list(table.rows.values())
    width = max(len(r.name) for r in rows)
    terminal.section("fault scenarios", sep="=")
    terminal.line(f"{'scenario'.ljust(width)} | result")
    terminal.line(f"{'-' * width}-+-{'-' * 6}")
    for row in rows:
        terminal.line(f"{row.name.ljust(width)} | {row.result}")
    passed = sum(r.result == "PASS" for r in rows)
    terminal.line(f"{passed} of {len(rows)} scenarios passed")
