"""The features' parts of `fmbot report`, printed by bot/cli/report.py before fmbot's own
tables (the CLI names no feature)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.cli.factory import ReportPart
    from bot.config import Settings


def report_parts(settings: Settings) -> list[ReportPart]:
    """Every feature's part of the report, built from `settings` (a setting in a wrong form
    raises ConfigError here, before the database is touched)."""
    from bot.features.desk.report import desk_report

    return [desk_report(settings)]
