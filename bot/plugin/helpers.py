"""`bot.plugin.helpers`: small helpers: the self-contained HTML pages' parts (`page`, `figure`,
`columns`, `svg_open`, `write_html`, ...), plural forms (`quantity`), a package's names imported on
first use (`lazy_exports`), and the clock intervals are measured on (`loop_time`: the event
loop's, which a test's virtual clock moves; `wall_now`: the wall clock it moves too, for
stored deadlines). The standard library only."""

from __future__ import annotations

from bot.clock import loop_time, wall_now
from bot.htmlpage import (
    AMBER,
    GREEN,
    RED,
    Column,
    columns,
    cut,
    figure,
    page,
    svg_open,
    write_html,
)
from bot.lazyexports import lazy_exports
from bot.plurals import quantity

__all__ = [
    "AMBER",
    "GREEN",
    "RED",
    "Column",
    "columns",
    "cut",
    "figure",
    "lazy_exports",
    "loop_time",
    "page",
    "quantity",
    "svg_open",
    "wall_now",
    "write_html",
]
