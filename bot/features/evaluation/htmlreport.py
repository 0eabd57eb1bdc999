"""`fmbot eval --report FILE.html`: one self-contained page a support lead reads in a minute.

No network: the CSS is inline, the chart is an SVG drawn here (one bar per case, its pass
rate), no script. The failed runs come first, each with its reasons, the judge's evidence
and the transcript (the lines the judge pointed at marked); the runs that passed follow,
folded."""

from __future__ import annotations

from html import escape

from bot.features.evaluation.report import CaseFigures, change, figures, tokens
from bot.features.evaluation.runner import CheckResult, Run, Suite
from bot.plugin.helpers import AMBER, GREEN, RED, cut, figure, page, svg_open, write_html

__all__ = ["chart", "html_report", "write_html"]

BAR_HEIGHT = 22
BAR_GAP = 8
LABEL_WIDTH = 260
BAR_WIDTH = 420
CHART_WIDTH = LABEL_WIDTH + BAR_WIDTH + 110  # room for "100% (30/30)"
CHANGE_WIDTH = 150  # with a baseline: room for "WORSE (was 100%)"

_STYLE = """
.failed{border-left:5px solid #d1435b}.passed{border-left:5px solid #2e9d62}
.reasons li{color:#a3263b}.evidence{font-size:13px;color:#39424f}
table.transcript{border-collapse:collapse;width:100%;font-size:14px;margin-top:8px}
.transcript td{vertical-align:top;padding:4px 8px;border-top:1px solid #eef0f3;
 white-space:pre-wrap}
.transcript td.n{color:#8a93a0;width:28px;text-align:right}
.transcript td.who{width:70px;font-weight:600}
.transcript tr.customer td.who{color:#2a5db0}.transcript tr.bot td.who{color:#6b3fa0}
.transcript tr.tool td{color:#5b6472;font-family:ui-monospace,Menlo,monospace;font-size:12px}
.transcript tr.pointed{background:#fff3c4}
.change-worse{color:#a3263b;font-weight:600}.change-better{color:#2e7d4f}
.diagnosis li{color:#39424f;font-size:13px}.not-run{font-size:13px;color:#5b6472}
"""


def html_report(suite: Suite, *, file: str, baseline: dict[str, float] | None = None) -> str:
    """The whole page."""
    figs = figures(suite)
    spent = tokens(suite)
    passed = sum(run.passed for run in suite.runs)
    every = sum(f.all_passed for f in figs)
    failed = [run for run in suite.runs if not run.passed]
    good = [run for run in suite.runs if run.passed]
    parts = [
        f"<h1>Simulated customers: {escape(file)}</h1>",
        f'<p class="meta">bot model {escape(suite.models.bot or "?")} · customer '
        f"{escape(suite.models.customer)} · judge {escape(suite.models.judge)} · "
        f"{suite.repeat} run(s) per case</p>",
        '<div class="summary">',
        figure("runs passed", f"{passed}/{len(suite.runs)} ({suite.pass_rate:.0%})"),
        figure(f"cases passing all {suite.repeat} run(s)", f"{every}/{len(figs)}"),
        figure("tokens", f"{spent['total']:,}"),
        *([figure("not judged", str(len(suite.unjudged)))] if suite.unjudged else []),
        "</div>",
    ]
    if suite.capped:
        parts.append(f'<p class="panel failed">Stopped early: {escape(suite.capped)}</p>')
    parts += [
        "<h2>Pass rate per case</h2>",
        f'<div class="panel">{chart(figs, baseline)}</div>',
    ]
    if suite.isolation:
        parts.append('<h2 id="what-ran">What ran</h2><ul class="panel isolation">'
                     + "".join(f"<li>{escape(line)}</li>" for line in suite.isolation)
                     + "</ul>")
    parts.append(f'<h2 id="failures">Failures ({len(failed)})</h2>')
    if not failed:
        parts.append('<p class="panel">Every run passed.</p>')
    parts += [_run_panel(run) for run in failed]
    parts.append(f'<h2 id="passes">Passed ({len(good)})</h2>')
    parts += [f"<details>{_run_panel(run, folded=True)}</details>" for run in good]
    return page(f"fmbot eval: {file}", parts, style=_STYLE)


def chart(figs: list[CaseFigures], baseline: dict[str, float] | None = None) -> str:
    """A horizontal bar per case (its pass rate), as inline SVG; with a baseline, each case
    says whether it got WORSE or better and the old rate, beside a tick at that rate."""
    height = len(figs) * (BAR_HEIGHT + BAR_GAP) + BAR_GAP + 18
    width = CHART_WIDTH + (CHANGE_WIDTH if baseline is not None else 0)
    items = [svg_open("pass-rates", "Pass rate per case", width, height, scales=True)]
    for index, fig in enumerate(figs):
        y = BAR_GAP + index * (BAR_HEIGHT + BAR_GAP)
        width = round(BAR_WIDTH * fig.pass_rate)
        colour = GREEN if fig.all_passed else AMBER if fig.passed else RED
        middle = y + BAR_HEIGHT // 2 + 5
        items += [
            f'<g class="case" data-case="{escape(fig.name)}" '
            f'data-pass-rate="{fig.pass_rate:.4f}">',
            f'<text x="{LABEL_WIDTH - 8}" y="{middle}" text-anchor="end">'
            f"{escape(cut(fig.name, 34))}</text>",
            f'<rect x="{LABEL_WIDTH}" y="{y}" width="{BAR_WIDTH}" height="{BAR_HEIGHT}" '
            f'fill="#eef0f3" rx="3"/>',
            f'<rect class="bar" x="{LABEL_WIDTH}" y="{y}" width="{width}" '
            f'height="{BAR_HEIGHT}" fill="{colour}" rx="3"/>',
            f'<text x="{LABEL_WIDTH + BAR_WIDTH + 8}" y="{middle}">{fig.pass_rate:.0%} '
            f"({fig.passed}/{fig.runs})</text>",
        ]
        before = baseline.get(fig.name) if baseline is not None else None
        if baseline is not None:
            what = change(fig.pass_rate, before)
            items.append(f'<text class="change-{what}" x="{CHART_WIDTH}" y="{middle}" '
                         f'fill="{_CHANGE_COLOUR[what]}">{_said(what, before)}</text>')
        if before is not None and change(fig.pass_rate, before) != "same":
            x = LABEL_WIDTH + round(BAR_WIDTH * before)
            items.append(f'<line class="baseline" x1="{x}" x2="{x}" y1="{y - 3}" '
                         f'y2="{y + BAR_HEIGHT + 3}" stroke="#1d2430" stroke-width="2">'
                         f"<title>baseline {before:.0%}</title></line>")
        items.append("</g>")
    axis = height - 6
    for share in (0, 0.5, 1):
        x = LABEL_WIDTH + round(BAR_WIDTH * share)
        items.append(f'<text x="{x}" y="{axis}" text-anchor="middle" fill="#8a93a0" '
                     f'font-size="11">{share:.0%}</text>')
    items.append("</svg>")
    return "".join(items)


_CHANGE_COLOUR = {"worse": RED, "better": GREEN, "same": "#8a93a0", "new": "#8a93a0"}


def _said(what: str, before: float | None) -> str:
    if what == "new" or before is None:
        return "new case"
    if what == "same":
        return f"same ({before:.0%})"
    return f"{'WORSE' if what == 'worse' else 'better'} (was {before:.0%})"


def _run_panel(run: Run, *, folded: bool = False) -> str:
    state = "passed" if run.passed else "failed"
    title = (f"{escape(run.case.name)} — run {run.number}, {run.turns} turn(s), ended: "
             f"{escape(run.ending)}")
    head = f"<summary>{title}</summary>" if folded else f"<h3>{title}</h3>"
    body = [f'<section class="panel {state}" data-case="{escape(run.case.name)}" '
            f'data-run="{run.number}">{head}']
    reasons = run.failures()
    if reasons:
        body.append('<ul class="reasons">' + "".join(
            f"<li>{escape(reason)}</li>" for reason in reasons) + "</ul>")
    checks = [*run.criteria, *run.must_not]
    if checks:
        shown = [_evidence(run, c, forbidden=False) for c in run.criteria]
        shown += [_evidence(run, r, forbidden=True) for r in run.must_not]
        body.append('<ul class="evidence">' + "".join(shown) + "</ul>")
    if run.diagnosis:
        body.append('<ul class="diagnosis">' + "".join(
            f"<li>{escape(line)}</li>" for line in run.diagnosis) + "</ul>")
    if run.not_run:
        body.append('<p class="not-run">Not run for this customer: '
                    + escape(", ".join(run.not_run)) + "</p>")
    pointed = {check.line for check in checks if not check.ok}
    body.append(_transcript(run, pointed))
    body.append("</section>")
    return "".join(body)


def _evidence(run: Run, check: CheckResult, *, forbidden: bool) -> str:
    mark = "✔" if check.ok else "✘"
    kind = "must not" if forbidden else "criterion"
    where = f"line {check.line}" if run.transcript.line(check.line) else "no line"
    said = f": {escape(check.evidence)}" if check.evidence else ""
    return f"<li>{mark} {kind}: {escape(check.text)} — <i>{where}</i>{said}</li>"


def _transcript(run: Run, pointed: set[int]) -> str:
    rows = []
    for line in run.transcript.lines:
        classes = line.speaker + (" pointed" if line.number in pointed else "")
        rows.append(f'<tr class="{classes}"><td class="n">{line.number}</td>'
                    f'<td class="who">{line.speaker}</td><td>{escape(line.text)}</td></tr>')
    if not rows:
        return "<p>(no messages)</p>"
    return '<table class="transcript">' + "".join(rows) + "</table>"
