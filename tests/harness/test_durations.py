"""The fast lane's list of slow tests (tests/durations.py): a JUnit report read back to node
ids, and the list naming files that exist."""

from __future__ import annotations

from pathlib import Path

from tests import durations
from tests.conftest import REPO_ROOT

REPORT = """<?xml version="1.0" encoding="utf-8"?>
<testsuites><testsuite name="pytest">
<testcase classname="tests.telegram.test_cli" name="test_a[sqlite]" time="0.42"/>
<testcase classname="tests.harness.test_durations.TestGroup" name="test_b" time="0.05"/>
<testcase classname="examples.tests.test_mybot" name="test_c" time="1.5"/>
</testsuite></testsuites>
"""


def test_a_report_is_read_back_to_node_ids(tmp_path: Path) -> None:
    report = tmp_path / "report.xml"
    report.write_text(REPORT, encoding="utf-8")
    assert durations.measured(report) == {
        "tests/telegram/test_cli.py::test_a[sqlite]": 0.42,
        "tests/harness/test_durations.py::TestGroup::test_b": 0.05,
        "examples/tests/test_mybot.py::test_c": 1.5,
    }


def test_the_list_names_test_files_that_exist() -> None:
    listed = durations.listed()
    assert len(listed) > 100, "the list is read"
    missing = sorted({node.split("::")[0] for node in listed
                      if not (REPO_ROOT / node.split("::")[0]).exists()})
    assert missing == [], "rewrite tests/slow.txt (tests/durations.py)"
