"""The fault suite's table: tests marked ``@scenario("...")`` are listed with their result at
the end of the session ("scenario | result"), whatever else ran.

`ScenarioTable` is a plugin registered by tests/conftest.py; the ``scenario`` marker is
registered in pyproject.toml. A story test that plays several scenarios on one bot names
them all (``@scenario("one", "two")``): a row each, with the test's result. The names travel
in the report's ``user_properties``, because with pytest-xdist the tests are collected and
run on workers and only their reports reach the process that prints.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest


def scenario(*names: str) -> pytest.MarkDecorator:
    """Name a test as scenarios of the fault suite (a row of the table each)."""
    return pytest.mark.scenario(*names)


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
        for name in marker.args if marker is not None else ():
            item.user_properties.append(("scenario", str(name)))

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        """Fold one phase's report into its scenario's row (setup, call, teardown)."""
        for key, name in report.user_properties:
            if key == "scenario":
                self._fold(report, self.rows.setdefault(f"{report.nodeid}::{name}",
                                                        Row(str(name))))

    @staticmethod
    def _fold(report: pytest.TestReport, row: Row) -> None:
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
