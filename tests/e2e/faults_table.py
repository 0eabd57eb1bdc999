"""The fault suite's table: tests marked ``@scenario("...")`` are listed with their result at
the end of the session ("scenario | result"), whatever else ran.

`ScenarioTable` is a plugin registered by tests/conftest.py; the ``scenario`` marker is
registered in pyproject.toml. The scenario's name travels in the report's
``user_properties``, because with pytest-xdist the tests are collected and run on workers
and only their reports reach the process that prints.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest


def scenario(name: str) -> pytest.MarkDecorator:
    """Name a test as a scenario of the fault suite (one row of the table)."""
    return pytest.mark.scenario(name)


@dataclass
class Row:
    name: str
    result: str = "PASS"


class ScenarioTable:
    """A pytest plugin (registered by tests/conftest.py) that keeps and prints the table."""

    def __init__(self) -> None:
        self.rows: dict[str, Row] = {}

    def pytest_itemcollected(self, item: pytest.Item) -> None:
        """Put a scenario's name where its reports will carry it."""
        marker = item.get_closest_marker("scenario")
        if marker is not None and marker.args:
            item.user_properties.append(("scenario", str(marker.args[0])))

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        """Fold one phase's report into its scenario's row (setup, call, teardown)."""
        name = dict(report.user_properties).get("scenario")
        if name is None:
            return
        row = self.rows.setdefault(report.nodeid, Row(str(name)))
        if report.skipped and hasattr(report, "wasxfail"):
            row.result = f"XFAIL ({report.wasxfail})"
        elif report.skipped:
            row.result = "SKIP"
        elif report.failed:
            row.result = "ERROR" if report.when != "call" else "FAIL"
        elif report.passed and hasattr(report, "wasxfail") and report.when == "call":
            row.result = "XPASS"  # strict xfails also fail the run

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        """Print the table (nothing when no scenario ran)."""
        if not self.rows:
            return
        terminal = terminalreporter  # pytest passes hook arguments by this name
        rows = list(self.rows.values())
        width = max(len(r.name) for r in rows)
        terminal.section("fault scenarios", sep="=")
        terminal.line(f"{'scenario'.ljust(width)} | result")
        terminal.line(f"{'-' * width}-+-{'-' * 6}")
        for row in rows:
            terminal.line(f"{row.name.ljust(width)} | {row.result}")
        passed = sum(r.result == "PASS" for r in rows)
        terminal.line(f"{passed} of {len(rows)} scenarios passed")
