"""`fmbot kb eval FILE.jsonl`: retrieval and abstention quality on labelled questions.

Each line is `{"question": ..., "expected": ["<path relative to KB_PATH>", ...]}` or
`{"question": ..., "expect_abstain": true}`, optionally with `"groups": ["hr", ...]`: asked as
an employee of those groups, who reads their documents besides the open ones (without it, as
someone not signed in: the open documents only, docs/helpdesk.md). Recall@k counts a question
as found when one of its expected documents is among the first k passages (k = 1, 3, 5 and 10:
compare @5 with @10 to choose KB_TOP_K); MRR uses the first such passage among the first 10.
Abstention is what `strict` mode does: the best cosine score below KB_MIN_SCORE. The threshold
that would maximise abstain F1 on this set is reported too, with the answerable questions the
current threshold wrongly abstains on. An `expected` path that is not indexed is refused (a
typo would count as a miss and mislead the tuning).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from bot.features.knowledge.base import KnowledgeBase

KS = (1, 3, 5, 10)
MISS_DEPTH = 5  # a "miss": the expected document is not among the first 5 passages
MRR_DEPTH = 10
SHOWN = 20  # misses and wrong abstentions listed


class EvalFileError(Exception):
    """The evaluation file has a bad line; the message names it."""


@dataclass(frozen=True, slots=True)
class Case:
    question: str
    expected: tuple[str, ...] = ()
    expect_abstain: bool = False
    groups: frozenset[str] = frozenset()
    """The asker's groups: what they may read besides the open documents."""


@dataclass(frozen=True, slots=True)
class Outcome:
    case: Case
    paths: tuple[str, ...]  # documents of the first MRR_DEPTH passages, in order
    best_score: float


@dataclass(slots=True)
class EvalReport:
    answerable: int = 0
    unanswerable: int = 0
    recall: dict[int, float] = field(default_factory=dict)
    mrr: float = 0.0
    min_score: float = 0.0
    abstain_precision: float = 0.0
    abstain_recall: float = 0.0
    abstain_f1: float = 0.0
    best_min_score: float = 0.0
    best_f1: float = 0.0
    misses: list[Outcome] = field(default_factory=list)
    wrong_abstains: list[Outcome] = field(default_factory=list)

    @property
    def abstained_wrongly(self) -> list[Outcome]:
        """Answerable questions the current KB_MIN_SCORE abstains on."""
        return [o for o in self.wrong_abstains if not o.case.expect_abstain]


def read_cases(path: Path) -> list[Case]:
    cases = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except ValueError:
            raise EvalFileError(f"{path}:{number}: not JSON") from None
        if not isinstance(item, dict) or not str(item.get("question", "")).strip():
            raise EvalFileError(f'{path}:{number}: needs "question"')
        expected = item.get("expected") or []
        abstain = bool(item.get("expect_abstain"))
        if not abstain and not expected:
            raise EvalFileError(f'{path}:{number}: needs "expected" or "expect_abstain"')
        groups = item.get("groups") or []
        if not isinstance(groups, list) or not all(isinstance(g, str) for g in groups):
            raise EvalFileError(f'{path}:{number}: "groups" is a list of group names')
        cases.append(Case(str(item["question"]), tuple(str(p) for p in expected), abstain,
                          frozenset(g.strip() for g in groups if g.strip())))
    return cases


def check_expected(path: Path, cases: Sequence[Case], indexed: set[str]) -> None:
    """Every `expected` document must be indexed: a typo would count as a miss."""
    unknown = sorted({p for case in cases for p in case.expected if p not in indexed})
    if unknown:
        shown = ", ".join(repr(p) for p in unknown[:3]) + (" ..." if len(unknown) > 3 else "")
        raise EvalFileError(
            f"{path}: {len(unknown)} expected document(s) not indexed: {shown}; give paths "
            "relative to their KB_PATH folder as `kb search` prints them, and run `kb sync`"
        )


async def evaluate(kb: KnowledgeBase, cases: Sequence[Case]) -> EvalReport:
    outcomes = []
    for case in cases:
        retrieval = await kb.search(case.question, MRR_DEPTH, readers=case.groups)
        outcomes.append(Outcome(case, tuple(h.path for h in retrieval.hits), retrieval.best_score))
    return score(outcomes, kb.retriever.min_score)


def score(outcomes: Sequence[Outcome], min_score: float) -> EvalReport:
    report = EvalReport(min_score=min_score)
    answerable = [o for o in outcomes if not o.case.expect_abstain]
    report.answerable = len(answerable)
    report.unanswerable = len(outcomes) - len(answerable)
    for k in KS:
        found = sum(1 for o in answerable if set(o.paths[:k]) & set(o.case.expected))
        report.recall[k] = found / len(answerable) if answerable else 0.0
    ranks = []
    for outcome in answerable:
        rank = next((i for i, p in enumerate(outcome.paths, 1) if p in outcome.case.expected), 0)
        ranks.append(1.0 / rank if rank else 0.0)
        if not rank or rank > MISS_DEPTH:
            report.misses.append(outcome)
    report.mrr = sum(ranks) / len(ranks) if ranks else 0.0
    p, r, f = _abstain(outcomes, min_score)
    report.abstain_precision, report.abstain_recall, report.abstain_f1 = p, r, f
    report.wrong_abstains = [
        o for o in outcomes if (o.best_score < min_score) != o.case.expect_abstain
    ]
    candidates = sorted({round(o.best_score + 1e-6, 6) for o in outcomes} | {min_score})
    report.best_min_score, report.best_f1 = min_score, f
    for threshold in candidates:
        f1 = _abstain(outcomes, threshold)[2]
        if f1 > report.best_f1:
            report.best_min_score, report.best_f1 = threshold, f1
    return report


def _abstain(outcomes: Sequence[Outcome], threshold: float) -> tuple[float, float, float]:
    predicted = [o.best_score < threshold for o in outcomes]
    actual = [o.case.expect_abstain for o in outcomes]
    true_positive = sum(1 for p, a in zip(predicted, actual, strict=True) if p and a)
    precision = true_positive / sum(predicted) if any(predicted) else 0.0
    recall = true_positive / sum(actual) if any(actual) else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1


def format_report(report: EvalReport) -> str:
    lines = [
        f"questions: {report.answerable} answerable, {report.unanswerable} to abstain on",
        "recall@" + ", recall@".join(f"{k}: {report.recall[k]:.3f}" for k in KS),
        f"MRR@{MRR_DEPTH}: {report.mrr:.3f}",
    ]
    if report.unanswerable:
        lines += [
            f"abstain at KB_MIN_SCORE={report.min_score:g}: precision "
            f"{report.abstain_precision:.3f}, recall {report.abstain_recall:.3f}, F1 "
            f"{report.abstain_f1:.3f}",
            f"best KB_MIN_SCORE on this set: {report.best_min_score:.3f} (abstain F1 "
            f"{report.best_f1:.3f})",
        ]
    else:
        lines.append('no questions to abstain on ("expect_abstain": true): abstain precision '
                     "and recall and the best KB_MIN_SCORE cannot be measured; add questions "
                     "your documents do not answer")
    wrong = report.abstained_wrongly
    lines.append(f"answerable questions abstained on at KB_MIN_SCORE={report.min_score:g}: "
                 f"{len(wrong)}")
    for outcome in wrong[:SHOWN]:
        lines.append(f"  abstained: {outcome.case.question!r} (best score "
                     f"{outcome.best_score:.3f})")
    for outcome in report.misses[:SHOWN]:
        lines.append(f"  miss: {outcome.case.question!r} expected {list(outcome.case.expected)}, "
                     f"got {list(dict.fromkeys(outcome.paths))[:3]}")
    return "\n".join(lines)
