"""Issue 27, item 11: `kb eval` is a tuning tool: recall@10 beside recall@5 (for KB_TOP_K), the
answerable questions the current KB_MIN_SCORE abstains on, an `expected` path that is not
indexed refused in one line, and a file without abstain questions said so."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.features.knowledge.evaluation import Case, Outcome, format_report, score
from tests.fakes.yandex.server import FakeFoundationModels
from tests.features.knowledge.conftest import FIXTURE
from tests.features.knowledge.test_eval_fixture import environment, figure, fmbot


def _jsonl(path: Path, items: list[dict[str, object]]) -> Path:
    path.write_text("".join(json.dumps(item, ensure_ascii=False) + "\n" for item in items),
                    encoding="utf-8")
    return path


def test_the_report_lists_answerable_questions_abstained_on() -> None:
    outcomes = [
        Outcome(Case("refunds?", ("shop/refunds.md",)), ("shop/refunds.md",), 0.30),
        Outcome(Case("warranty?", ("shop/warranty.md",)), ("shop/warranty.md",), 0.50),
        Outcome(Case("cars?", expect_abstain=True), ("shop/refunds.md",), 0.10),
    ]
    report = score(outcomes, min_score=0.35)
    text = format_report(report)
    assert "answerable questions abstained on at KB_MIN_SCORE=0.35: 1" in text
    assert "abstained: 'refunds?' (best score 0.300)" in text
    assert "warranty?" not in text
    assert "recall@10: 1.000" in text


def test_a_file_without_abstain_questions_says_what_cannot_be_measured() -> None:
    outcomes = [Outcome(Case("refunds?", ("shop/refunds.md",)), ("shop/refunds.md",), 0.5)]
    text = format_report(score(outcomes, min_score=0.35))
    assert "no questions to abstain on" in text
    assert "best KB_MIN_SCORE on this set" not in text
    assert "abstain at" not in text


@pytest.mark.slow
async def test_kb_eval_from_the_command_line(fm: FakeFoundationModels, tmp_path: Path) -> None:
    env = environment(fm, tmp_path)
    code, _, err = await fmbot("kb", "sync", env=env)
    assert code == 0, err

    code, out, err = await fmbot("kb", "eval", str(FIXTURE / "eval.jsonl"), env=env)
    assert code == 0, err
    assert figure(r"recall@10: ([\d.]+)", out) >= figure(r"recall@5: ([\d.]+)", out)
    assert "answerable questions abstained on at KB_MIN_SCORE=0.19:" in out

    # A threshold set too high: the answerable questions it turns away are listed.
    code, out, err = await fmbot("kb", "eval", str(FIXTURE / "eval.jsonl"),
                                 env={**env, "KB_MIN_SCORE": "0.9"})
    assert code == 0, err
    wrongly = figure(r"answerable questions abstained on at KB_MIN_SCORE=0.9: (\d+)", out)
    assert wrongly > 0
    assert out.count("  abstained: ") == min(int(wrongly), 20)

    # A typo in `expected` is refused in one line, not counted as a miss.
    typo = _jsonl(tmp_path / "typo.jsonl", [
        {"question": "How long do refunds take?", "expected": ["shop/refunds.md"]},
        {"question": "Warranty?", "expected": ["shop/waranty.md"]},
    ])
    code, out, err = await fmbot("kb", "eval", str(typo), env=env)
    assert code == 2
    assert out == ""
    assert err.count("\n") == 1
    assert "'shop/waranty.md'" in err
    assert "not indexed" in err

    # No abstain questions: said so, no meaningless abstain figures.
    answerable = _jsonl(tmp_path / "answerable.jsonl", [
        {"question": "How long do refunds take?", "expected": ["shop/refunds.md"]},
    ])
    code, out, err = await fmbot("kb", "eval", str(answerable), env=env)
    assert code == 0, err
    assert "no questions to abstain on" in out
    assert "best KB_MIN_SCORE on this set" not in out
