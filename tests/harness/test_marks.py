"""The `process` mark is enforced where bot processes start (tests/marks.py)."""

from __future__ import annotations

import pytest

from tests.marks import bot_process_allowed


def test_a_test_without_the_mark_may_not_start_a_bot_process() -> None:
    with pytest.raises(pytest.UsageError, match=r"mark it @pytest\.mark\.process"):
        bot_process_allowed()


def test_a_process_test_may(request: pytest.FixtureRequest) -> None:
    # Marked here, not at collection: a `process` test lives in tests/e2e (tests/conftest.py).
    request.node.add_marker(pytest.mark.process)
    bot_process_allowed()
