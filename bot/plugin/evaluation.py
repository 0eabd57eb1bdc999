"""`bot.plugin.evaluation`: simulated customers, as the evaluation feature (`fmbot eval`) runs
them: cases, the customer and judge models, stubs, the runner and its reports. Imported on first
use (PEP 562): the runner and models bring httpx."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.lazyexports import lazy_exports

_WHERE = {
    "CaseFileError": "bot.evaluation.cases",
    "read_cases": "bot.evaluation.cases",
    "Customer": "bot.evaluation.customer",
    "html_report": "bot.evaluation.htmlreport",
    "write_html": "bot.evaluation.htmlreport",
    "Judge": "bot.evaluation.judge",
    "BaselineError": "bot.evaluation.report",
    "as_json": "bot.evaluation.report",
    "failures": "bot.evaluation.report",
    "read_baseline": "bot.evaluation.report",
    "table": "bot.evaluation.report",
    "write_json": "bot.evaluation.report",
    "BotTurn": "bot.evaluation.runner",
    "Explain": "bot.evaluation.runner",
    "Run": "bot.evaluation.runner",
    "Runner": "bot.evaluation.runner",
    "Stubs": "bot.evaluation.stubs",
}

__getattr__, __dir__ = lazy_exports(__name__, _WHERE)

if TYPE_CHECKING:
    from bot.evaluation.cases import CaseFileError, read_cases
    from bot.evaluation.customer import Customer
    from bot.evaluation.htmlreport import html_report, write_html
    from bot.evaluation.judge import Judge
    from bot.evaluation.report import (
        BaselineError,
        as_json,
        failures,
        read_baseline,
        table,
        write_json,
    )
    from bot.evaluation.runner import BotTurn, Explain, Run, Runner
    from bot.evaluation.stubs import Stubs

__all__ = [
    "BaselineError",
    "BotTurn",
    "CaseFileError",
    "Customer",
    "Explain",
    "Judge",
    "Run",
    "Runner",
    "Stubs",
    "as_json",
    "failures",
    "html_report",
    "read_baseline",
    "read_cases",
    "table",
    "write_html",
    "write_json",
]
