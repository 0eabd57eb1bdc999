"""`bot.plugin.helpers`: small helpers: the self-contained HTML pages' parts (`page`, `figure`,
`columns`, `write_html`, ...), plural forms (`quantity`), and a package's names imported on
first use (`lazy_exports`). The standard library only."""

from __future__ import annotations

from bot.htmlpage import AMBER, GREEN, RED, Column, columns, cut, figure, page, write_html
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
    "page",
    "quantity",
    "write_html",
]
