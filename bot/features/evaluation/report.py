"""What `fmbot eval` shows: a table for the terminal, the failures with the judge's evidence,
a JSON document with stable keys (every transcript, verdict and figure), and the comparison
with an earlier run's JSON (`--baseline`)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.features.evaluation.runner import CheckResult, Run, Suite

FORMAT = "fmbot-eval/1"


class BaselineError(ValueError):
    """The baseline file is not the JSON an earlier `fmbot eval --json` wrote."""


@dataclass(frozen=True, slots=True)
class CaseFigures:
    name: str
    runs: int
    passed: int

    @property
    def pass_rate(self) -> float:
        return self.passed / self.runs if self.runs else 0.0

    @property
    def all_passed(self) -> bool:
        return self.runs > 0 and self.passed == self.runs


def figures(suite: Suite) -> list[CaseFigures]:
    return [CaseFigures(case.name, len(suite.of(case)), sum(r.passed for r in suite.of(case)))
            for case in suite.cases]


def tokens(suite: Suite) -> dict[str, int]:
    customer = sum(run.customer_tokens for run in suite.runs)
    judge = sum(run.judge_tokens for run in suite.runs)
    return {"bot": suite.bot_tokens, "customer": customer, "judge": judge,
            "total": suite.bot_tokens + customer + judge}


# -- the baseline ---------------------------------------------------------------------------


def read_baseline(path: Path) -> dict[str, float]:
    """Each case's pass rate in an earlier run's JSON. Raises BaselineError."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise BaselineError(f"--baseline {path}: cannot read it: {exc.strerror}") from None
    except ValueError as exc:
        raise BaselineError(f"--baseline {path}: not JSON: {exc}") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise BaselineError(f"--baseline {path}: not the JSON of fmbot eval --json ({FORMAT})")
    try:
        return {str(c["name"]): float(c["pass_rate"]) for c in data["cases"]}
    except (KeyError, TypeError, ValueError):
        raise BaselineError(f"--baseline {path}: its cases lack name or pass_rate") from None


def change(now: float, before: float | None) -> str:
    """"worse", "better", "same", or "new" (a case the baseline does not have)."""
    if before is None:
        return "new"
    if abs(now - before) < 1e-9:
        return "same"
    return "better" if now > before else "worse"


# -- the terminal ---------------------------------------------------------------------------


def table(suite: Suite, baseline: dict[str, float] | None = None) -> str:
    """One row per case: its pass rate, runs passed, the change since the baseline, and the
    first reason a run failed; then the totals and the tokens."""
    rows = [("case", "pass rate", "passed", *(("vs baseline",) if baseline is not None else ()),
             "first failure")]
    for case, fig in zip(suite.cases, figures(suite), strict=True):
        failing = next((run for run in suite.of(case) if not run.passed), None)
        reason = failing.failures()[0] if failing is not None and failing.failures() else ""
        mark: tuple[str, ...] = ()
        if baseline is not None:
            before = baseline.get(case.name)
            mark = (_marked(change(fig.pass_rate, before), before),)
        rows.append((case.name, f"{fig.pass_rate:.0%}", f"{fig.passed}/{fig.runs}", *mark,
                     _cut(reason, 60)))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
             for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    figs = figures(suite)
    every = sum(f.all_passed for f in figs)
    spent = tokens(suite)
    lines += [
        "",
        f"runs passed: {sum(r.passed for r in suite.runs)}/{len(suite.runs)} "
        f"({suite.pass_rate:.0%}); cases passing in all {suite.repeat} run(s): "
        f"{every}/{len(figs)}",
        f"tokens: {spent['total']} (bot {spent['bot']}, customer {spent['customer']}, "
        f"judge {spent['judge']})",
    ]
    unjudged = suite.unjudged
    if unjudged:
        lines.append(f"not judged: {len(unjudged)} run(s) ended in an error or with a verdict "
                     "that could not be read (below)")
    if suite.capped:
        lines.append(f"stopped early: {suite.capped}")
    if suite.isolation:
        lines += ["", "what ran (docs/evaluation.md, \"What runs\"):"]
        lines += [f"  {line}" for line in suite.isolation]
    return "\n".join(lines)


def _marked(what: str, before: float | None) -> str:
    if before is None:
        return "new"
    return {"worse": f"WORSE (was {before:.0%})", "better": f"better (was {before:.0%})",
            "same": "same"}[what]


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def failures(suite: Suite) -> str:
    """Each failed run: why, with the line of the transcript the judge pointed at."""
    blocks = []
    for run in suite.runs:
        if run.passed:
            continue
        lines = [f"FAILED {run.case.name} (run {run.number}, ended: {run.ending})"]
        lines += [f"  - {reason}" for reason in run.failures()]
        for check in [*run.criteria, *run.must_not]:
            if not check.ok:
                lines.append(f"    {_evidence(run, check)}")
        lines += [f"  * {line}" for line in run.diagnosis]
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)


def _evidence(run: Run, check: CheckResult) -> str:
    shown = run.transcript.line(check.line)
    where = f"line {check.line} ({shown.speaker}: {_cut(shown.text, 80)})" if shown else "no line"
    return f"{_cut(check.text, 50)}: {where}: {_cut(check.evidence, 100)}"


# -- JSON -----------------------------------------------------------------------------------


def as_json(suite: Suite, *, file: str, baseline: dict[str, float] | None = None
            ) -> dict[str, Any]:
    """Every transcript, verdict and figure, under keys that stay the same across versions
    (FORMAT names the layout)."""
    figs = figures(suite)
    cases = []
    for case, fig in zip(suite.cases, figs, strict=True):
        entry: dict[str, Any] = {
            "name": case.name, "runs": fig.runs, "passed": fig.passed,
            "pass_rate": round(fig.pass_rate, 4), "all_passed": fig.all_passed,
            "handoff_expected": case.handoff,
            "change": change(fig.pass_rate, baseline.get(case.name))
            if baseline is not None else None,
            "results": [_run(run) for run in suite.of(case)],
        }
        cases.append(entry)
    return {
        "format": FORMAT,
        "file": file,
        "repeat": suite.repeat,
        "models": {"bot": suite.models.bot, "customer": suite.models.customer,
                   "judge": suite.models.judge},
        "summary": {
            "runs": len(suite.runs), "passed": sum(r.passed for r in suite.runs),
            "pass_rate": round(suite.pass_rate, 4), "cases": len(figs),
            "cases_passing_all_runs": sum(f.all_passed for f in figs),
            "tokens": tokens(suite),
            "unjudged": len(suite.unjudged),
            "stopped_early": suite.capped or None,
        },
        "isolation": suite.isolation,
        "cases": cases,
    }


def _run(run: Run) -> dict[str, Any]:
    return {
        "run": run.number,
        "passed": run.passed,
        "ending": run.ending,
        "turns": run.turns,
        "handed_off": run.handed_off,
        "handoff_right": run.handoff_right,
        "resolved": run.resolved,
        "criteria": [_check(c) for c in run.criteria],
        "must_not": [{"text": r.text, "violated": not r.ok, "line": r.line,
                      "evidence": r.evidence} for r in run.must_not],
        "tools": [{"name": u.name, "arguments": u.arguments, "result": u.result,
                   "stubbed": u.stubbed} for u in run.tools],
        "unstubbed_tools": run.unstubbed,
        "judge_error": run.judge_error or None,
        "error": run.error or None,
        "failures": run.failures(),
        "diagnosis": run.diagnosis,
        "not_run": run.not_run,
        "tokens": {"customer": run.customer_tokens, "judge": run.judge_tokens},
        "transcript": [{"line": line.number, "speaker": line.speaker, "text": line.text}
                       for line in run.transcript.lines],
    }


def _check(check: CheckResult) -> dict[str, Any]:
    return {"text": check.text, "passed": check.ok, "line": check.line,
            "evidence": check.evidence}


def write_json(path: Path, document: dict[str, Any]) -> None:
    path.write_text(json.dumps(document, ensure_ascii=False, indent=2) + "\n",
                    encoding="utf-8")
