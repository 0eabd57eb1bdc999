"""`fmbot report`: the features' figures (bot/features/reports.py: the support desk's, the
tools' table, the voice replies), then the web searches, from the database (no Telegram, no
model); `--csv` and `--html` files from the parts that write them."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from bot.cli.factory import Factory
from bot.config import ConfigError
from bot.features.api.commands import Command, Subcommands
from bot.plurals import quantity

if TYPE_CHECKING:
    from bot.storage.database import Database


def add_parser(commands: Subcommands) -> list[argparse.ArgumentParser]:
    report = commands.add_parser("report", help="print the support desk's figures")
    report.add_argument("--days", type=int, default=7, help="the period, in days (default 7)")
    report.add_argument("--csv", type=Path, default=None, help="also write one row per "
                        "conversation to this CSV file")
    report.add_argument("--html", type=Path, default=None, metavar="FILE.html",
                        help="also write the figures and their charts as one self-contained "
                        "HTML page")
    return [report]


async def run(factory: Factory, args: argparse.Namespace) -> int:
    if args.days < 1:
        raise ConfigError("report: --days must be at least 1")
    if args.csv is not None and not args.csv.expanduser().parent.is_dir():
        raise ConfigError(f"report: --csv: no such folder {args.csv.parent}")
    html = args.html.expanduser() if args.html is not None else None
    if html is not None and not html.parent.is_dir():
        raise ConfigError(f"report: --html: no such folder {args.html.parent}")
    await run_report(factory, days=args.days, csv_path=args.csv, html_path=html)
    return 0


async def run_report(
    factory: Factory, *, days: int, csv_path: Path | None, html_path: Path | None = None
) -> None:
    settings = factory.settings
    # Each feature's part (the plugins' too), built from the settings (a setting in a wrong
    # form raises ConfigError here, before the database is touched).
    parts = [part for feature in factory.features for part in feature.report(settings)]
    await factory.migrate()
    async with factory.database() as db:
        sections = [await part(db, days) for part in parts]
        searches = await web_search_stats(db, days)
    for section in sections:
        print(section.text)
        print()
    print(searches)
    _write("--csv", csv_path, [s.write_csv for s in sections if s.write_csv is not None])
    _write("--html", html_path, [s.write_html for s in sections if s.write_html is not None])


def _write(option: str, path: Path | None, writers: list[Callable[[Path], str]]) -> None:
    """Each section's file at `path` (what it wrote, printed); a path that cannot be written
    is the option's error."""
    if path is None:
        return
    for write in writers:
        try:
            print(write(path))
        except OSError as exc:
            raise ConfigError(f"report: {option}: cannot write {path}: {exc.strerror}") from None


async def web_search_stats(db: Database, days: int) -> str:
    """One line: the web searches the model ran over the last `days` days, and for how many
    users (WEB_SEARCH; Yandex bills each)."""
    import datetime as dt

    from bot.storage.models import utc_today
    from bot.storage.repositories.web_searches import WebSearchUsageRepository

    async with db.sessionmaker() as session:
        searches, users = await WebSearchUsageRepository(session).since(
            utc_today() - dt.timedelta(days=days - 1))
    return (f"Web searches in the last {quantity(days, 'en', 'day', 'days')}: {searches} "
            f"(for {quantity(users, 'en', 'user', 'users')})")


command = Command("report", add_parser, run)
