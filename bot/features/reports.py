"""The features' parts of `fmbot report`, printed by bot/cli/report.py in this order before
the web searches' line (the CLI names no feature)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.cli.factory import ReportPart
    from bot.features.settings import Settings


def report_parts(settings: Settings) -> list[ReportPart]:
    """Every feature's part of the report, built from `settings` (a setting in a wrong form
    raises ConfigError here, before the database is touched)."""
    from bot.features.desk.report import desk_report
    from bot.features.tools.report import tools_report
    from bot.features.voice.report import voice_part

    return [desk_report(settings.desk), tools_report(), voice_part(settings.voice)]
