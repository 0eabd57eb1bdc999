"""`fmbot report`: the features' figures (each feature's `report` parts, in the order of the
features' list: the support desk's, the voice replies, the web searches, the tools' table),
from the database (no Telegram, no model);
`--csv` and `--html` files from the parts that write them."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path

from bot.cli.factory import Factory
from bot.config import ConfigError
from bot.plugin.commands import Command, Subcommands


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
    from bot.plugin.lifespan import declared

    parts = declared(factory.features, settings).reports
    await factory.migrate()
    async with factory.database() as db:
        sections = [await part(db, days) for part in parts]
    for number, section in enumerate(sections):
        if number:
            print()  # a blank line between sections
        print(section.text)
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


command = Command("report", add_parser, run)
