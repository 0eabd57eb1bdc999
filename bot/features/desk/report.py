"""The support desk's figures in `fmbot report` (bot/cli/report.py prints them first):
conversations, handoffs, ratings, the verified resolution rate and the worst-scored
conversations, the gaps; one CSV row per conversation; the same as one HTML page."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from bot.features.desk.build import support_hours
from bot.features.desk.settings import DeskSettings
from bot.plugin.commands import ReportSection
from bot.plugin.helpers import quantity

if TYPE_CHECKING:
    from bot.plugin.commands import ReportPart
    from bot.plugin.storage import Database


def desk_report(desk: DeskSettings) -> ReportPart:
    """The desk's part of the report, its hours from SUPPORT_HOURS (ConfigError if wrong)."""
    hours = support_hours(desk)

    async def part(db: Database, days: int) -> ReportSection:
        from bot.features.desk.domain.report import build_report, format_report, write_csv

        report = await build_report(db.sessionmaker, days=days, hours=hours, idle=desk.idle)

        def csv(path: Path) -> str:
            rows = write_csv(report, path)
            return f"{quantity(rows, 'en', 'conversation', 'conversations')} written to {path}"

        def html(path: Path) -> str:
            from bot.features.desk.domain.htmlreport import html_report
            from bot.plugin.helpers import write_html

            write_html(path, html_report(report))
            return f"the support desk's page written to {path}"

        return ReportSection(format_report(report, limit_gaps=30), csv, html)

    return part
