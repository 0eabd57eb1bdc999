"""`fmbot report --html FILE`: the desk's report as one self-contained page (the helpers of
bot/htmlpage.py: inline CSS, inline SVG, no script, nothing loaded from anywhere):
the headline figures, a chart per day of the volume, the verified resolution rate, CSAT and
the mean score, the worst-scored conversations with their evidence and topic links, and the
report's text figures. Conversation text is untrusted: every value is escaped."""

from __future__ import annotations

import statistics
from html import escape

from bot.features.desk.domain.quality import DayQuality, Quality, Scored
from bot.features.desk.domain.report import Report, format_report
from bot.plugin.helpers import AMBER, GREEN, RED, Column, columns, cut, figure, page

_STYLE = """
.charts{display:grid;grid-template-columns:repeat(auto-fit,minmax(300px,1fr));gap:14px}
.charts .panel{min-width:0}.charts h3{font-size:15px;margin:0 0 6px}
table.worst{border-collapse:collapse;width:100%;font-size:14px}
.worst th,.worst td{text-align:left;vertical-align:top;padding:5px 8px;
 border-top:1px solid #eef0f3}
.worst td.evidence{white-space:pre-wrap}.breach{color:#a3263b;font-weight:600}
ul.figures{margin:0;padding-left:18px;font-size:14px;white-space:pre-wrap}
"""


def html_report(r: Report) -> str:
    """The whole page."""
    q = r.quality or Quality([], [], 0)
    whole = q.total()
    period = f"{r.start:%Y-%m-%d %H:%M} - {r.end:%Y-%m-%d %H:%M} UTC"
    # Over the conversations that could be verified: the bot's alone, scored.
    verified = (f"{whole.verified}/{whole.verifiable} "
                f"({whole.verified / whole.verifiable:.0%})" if whole.verifiable
                else "none scored yet")
    csat = f"{statistics.fmean(r.csat_scores):.2f} of 5" if r.csat_scores else "no ratings"
    handed = (f"{r.handed_over} ({r.handed_over / r.conversations:.0%})" if r.conversations
              else "0")
    body = [
        "<h1>Support desk</h1>",
        f'<p class="meta">{escape(period)}</p>',
        '<div class="summary">',
        figure("conversations", str(r.conversations)),
        figure("handed over", handed),
        figure("verified resolution (bot alone)", verified),
        figure("CSAT", csat),
        figure("waiting to be scored", str(whole.waiting)),
        *([figure("unscored", str(whole.unscored))] if whole.unscored else []),
        "</div>",
        '<h2 id="per-day">Per day</h2>',
        '<div class="charts">',
        *_charts(q.days),
        "</div>",
        f'<h2 id="worst">Worst-scored conversations ({len(q.worst)})</h2>',
        _worst(q.worst),
        '<h2 id="figures">All figures</h2>',
        '<div class="panel"><ul class="figures">'
        + "".join(f"<li>{escape(line)}</li>" for line in format_report(r).splitlines()[1:])
        + "</ul></div>",
    ]
    return page(f"fmbot report: {period}", body, style=_STYLE)


def _charts(days: list[DayQuality]) -> list[str]:
    def panel(title: str, chart: str) -> str:
        return f'<div class="panel"><h3>{escape(title)}</h3>{chart}</div>'

    label = [f"{d.day:%m-%d}" for d in days]
    volume = [Column(x, d.conversations, str(d.conversations)) for x, d in zip(label, days,
                                                                              strict=True)]
    rate = [Column(x, d.verified_rate, f"{d.verified_rate:.0%}" if d.verified_rate is not None
                   else "") for x, d in zip(label, days, strict=True)]
    csat = [Column(x, d.csat_average, f"{d.csat_average:.1f}" if d.csat_average else "")
            for x, d in zip(label, days, strict=True)]
    score = [Column(x, d.mean_score, f"{d.mean_score:.1f}" if d.mean_score else "")
             for x, d in zip(label, days, strict=True)]
    most = max([d.conversations for d in days] + [1])
    return [
        panel("Conversations", columns("volume", "Conversations per day", volume,
                                       maximum=most, colour="#2a5db0")),
        panel("Verified resolution", columns("resolution", "Verified resolution rate per day",
                                             rate, maximum=1.0, colour=GREEN)),
        panel("CSAT (1-5)", columns("csat", "CSAT average per day", csat, maximum=5.0,
                                    colour=AMBER)),
        panel("Mean score (1-5)", columns("scores", "Mean quality score per day", score,
                                          maximum=5.0, colour=RED)),
    ]


def _worst(worst: list[Scored]) -> str:
    if not worst:
        return '<p class="panel">No conversation scored in the period.</p>'
    rows = []
    for s in worst:
        link = (f'<a href="{escape(s.link)}">topic</a>' if s.link else "")
        breach = (f'<span class="breach">{escape(cut(s.breach, 200))}</span>' if s.breach
                  else "")
        line = f"line {s.evidence_line}: " if s.evidence_line else ""
        rows.append(
            f'<tr data-case="{s.case_id}" data-score="{s.score}"><td>#{s.case_id}</td>'
            f"<td>{s.opened_at:%Y-%m-%d}</td><td>{s.score}/5</td>"
            f"<td>{'resolved' if s.resolved else 'not resolved'}</td>"
            f"<td>{escape(s.tone)}</td><td>{breach}</td>"
            f'<td class="evidence">{escape(line)}{escape(cut(s.evidence, 300))}</td>'
            f"<td>{link}</td></tr>")
    head = ("<tr><th>conversation</th><th>opened</th><th>score</th><th>outcome</th>"
            "<th>tone</th><th>breach</th><th>evidence</th><th>support chat</th></tr>")
    return f'<div class="panel"><table class="worst">{head}{"".join(rows)}</table></div>'
