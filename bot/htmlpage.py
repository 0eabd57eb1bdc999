"""Self-contained HTML pages for the features' reports (`fmbot eval --report`, `fmbot report
--html`): one file a lead opens anywhere, with no network. The CSS is inline, the charts are
SVG drawn here, there is no script. Every value a page shows goes through `html.escape`
(conversation text and model output are untrusted); the helpers escape what they are given.

Standard library only: both features import it, it imports nothing of bot.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from html import escape
from pathlib import Path

BASE_STYLE = """
body{font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;
 color:#1d2430;background:#f6f7f9}
main{max-width:980px;margin:0 auto;padding:24px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:18px;margin:28px 0 10px}
.meta{color:#5b6472;font-size:13px}
.summary{display:flex;gap:12px;flex-wrap:wrap;margin:16px 0}
.figure{background:#fff;border:1px solid #dde1e7;border-radius:8px;padding:10px 14px}
.figure b{display:block;font-size:22px}
.panel{background:#fff;border:1px solid #dde1e7;border-radius:8px;padding:14px 16px;
 margin:0 0 14px}
summary{cursor:pointer;font-weight:600}
"""
# The width a chart of columns is drawn for: a panel of the reports' two-column grid, inside
# `main`'s 980 px (what a 1280 px window shows of it, and a 1920 px one).
CHART_FIT = 420
GREEN, AMBER, RED, GREY, INK, FAINT = (
    "#2e9d62", "#e0a526", "#d1435b", "#eef0f3", "#1d2430", "#8a93a0")


def page(title: str, body: Sequence[str], *, style: str = "") -> str:
    """The whole document: `title` escaped here, `body` already HTML (escaped by its
    makers), `style` added to the base style."""
    return "\n".join([
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width,initial-scale=1">',
        f"<title>{escape(title)}</title>",
        f"<style>{BASE_STYLE}{style}</style></head><body><main>",
        *body,
        "</main></body></html>",
    ]) + "\n"


def figure(label: str, value: str) -> str:
    """One headline figure, as a tile."""
    return f'<div class="figure">{escape(label)}<b>{escape(value)}</b></div>'


def svg_open(svg_id: str, title: str, width: int, height: int, font_size: int = 13,
             *, scales: bool = False) -> str:
    """An inline SVG's opening tag and its accessible title (close it with "</svg>");
    `scales`: drawn smaller, never cut, when its box is narrower than `width`."""
    fitting = ' style="max-width:100%;height:auto"' if scales else ""
    return (f'<svg id="{escape(svg_id)}" xmlns="http://www.w3.org/2000/svg" role="img" '
            f'width="{width}" height="{height}" viewBox="0 0 {width} {height}"{fitting} '
            f'font-family="system-ui,sans-serif" font-size="{font_size}">'
            f"<title>{escape(title)}</title>")


@dataclass(frozen=True, slots=True)
class Column:
    """One day's column: `value` (None: nothing to show that day) and its label on top."""

    label: str
    value: float | None
    text: str


def columns(svg_id: str, title: str, points: Sequence[Column], *, maximum: float,
            colour: str = GREEN, fit: int = CHART_FIT, scales: bool = True) -> str:
    """A column per point (a day), scaled to `maximum`, its text above it (on a tooltip when
    the columns are narrow) and its label below (every few columns when they are narrow);
    each column's group carries `data-label` and `data-value`. `scales=False`: no inline
    style (a page whose Content-Security-Policy allows none scales it from its stylesheet).

    The columns share `fit` pixels, so the whole period fits its box and the newest day (the
    rightmost) is never behind a scrollbar; the drawing shrinks with a narrower box."""
    count = max(1, len(points))
    step = min(44, max(6, (fit - 20) // count))
    bar = max(3, step * 2 // 3)
    top, plot = 18, 120
    width = count * step + 20
    height = top + plot + 34
    every = -(-36 // step)  # a label needs about 36 px
    items = [svg_open(svg_id, title, width, height, 11, scales=scales)]
    base = top + plot
    items.append(f'<line x1="10" x2="{width - 10}" y1="{base}" y2="{base}" stroke="{FAINT}"/>')
    for index, point in enumerate(points):
        x = 10 + index * step + (step - bar) // 2
        value = "" if point.value is None else f"{point.value:.4f}"
        items.append(f'<g class="column" data-label="{escape(point.label)}" '
                     f'data-value="{value}"><title>{escape(point.label)}: '
                     f'{escape(point.text or "no data")}</title>')
        if point.value is not None and maximum > 0:
            tall = round(plot * min(1.0, max(0.0, point.value / maximum)))
            items.append(f'<rect class="bar" x="{x}" y="{base - tall}" width="{bar}" '
                         f'height="{tall}" fill="{colour}" rx="2"/>')
            if step >= 26:
                items.append(f'<text x="{x + bar // 2}" y="{base - tall - 4}" '
                             f'text-anchor="middle">{escape(point.text)}</text>')
        if (count - 1 - index) % every == 0:  # the newest day always labelled
            items.append(f'<text x="{x + bar // 2}" y="{base + 14}" text-anchor="middle" '
                         f'fill="{FAINT}">{escape(point.label)}</text>')
        items.append("</g>")
    items.append("</svg>")
    return "".join(items)


def cut(text: str, limit: int) -> str:
    """`text` within `limit` characters, an ellipsis marking a cut (escape it after)."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def write_html(path: Path, html: str) -> None:
    path.write_text(html, encoding="utf-8")
