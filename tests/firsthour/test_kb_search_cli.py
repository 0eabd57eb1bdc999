"""`kb search` with an empty question (or a bad -k) is one line saying what to give, never a
traceback from the embeddings API."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.operations.test_preflight import COMPLETE, cli


@pytest.mark.parametrize(("args", "says"), [
    (["kb", "search", ""], "give a question to search for"),
    (["kb", "search", "   "], "give a question to search for"),
    (["kb", "search", "delivery", "-k", "0"], "-k must be at least 1"),
])
def test_kb_search_without_a_question_is_one_line(
    tmp_path: Path, args: list[str], says: str
) -> None:
    done = cli(*args, cwd=tmp_path, **COMPLETE, KB_PATH=str(tmp_path))
    assert done.returncode == 2, done.stderr
    assert done.stderr.strip().splitlines() == [f"fmbot: kb search: {says}" + (
        ', e.g. kb search "delivery times"' if "question" in says else "")]
