"""The tools' figures in `fmbot report`: per tool over the period, its calls, failures,
declines and expiries (audit.py's table), and one CSV row per tool beside the `--csv` file."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import TYPE_CHECKING

from bot.features.tools.audit import stats_table, tools_csv_path, write_stats_csv
from bot.features.tools.storage.audit import ToolCallAudit
from bot.plugin.commands import ReportSection
from bot.plugin.storage import utcnow

if TYPE_CHECKING:
    from bot.plugin.commands import ReportPart
    from bot.plugin.storage import Database


def tools_report() -> ReportPart:
    async def part(db: Database, days: int) -> ReportSection:
        since = utcnow() - dt.timedelta(days=days)
        async with db.sessionmaker() as session:
            stats = await ToolCallAudit(session).stats(since=since)

        def csv(path: Path) -> str:
            where = tools_csv_path(path)
            return f"{write_stats_csv(stats, where)} tools written to {where}"

        return ReportSection(stats_table(stats, days), csv)

    return part
