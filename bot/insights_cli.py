"""`fmbot insights ...`: what the desk learned, read from the database.

    insights faq                         FAQ drafts waiting for review
    insights gaps [--days N] [--csv F]   content gaps: unanswered questions grouped by topic
    insights eval-faq FILE               drafts scored against a fixture; dedup threshold tuned
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from bot.config import ConfigError, Settings

if TYPE_CHECKING:
    from bot.app import App


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    insights = commands.add_parser(
        "insights", help="what the support desk learned: FAQ drafts, content gaps"
    )
    verbs = insights.add_subparsers(dest="insights_command", required=True, metavar="VERB")
    verbs.add_parser("faq", help="list the FAQ drafts waiting for review")
    gaps = verbs.add_parser("gaps", help="the questions the bot could not answer, by topic")
    gaps.add_argument("--days", type=int, default=7, help="the period, in days (default 7)")
    gaps.add_argument("--csv", type=Path, default=None, help="also write the gaps to this CSV")
    evaluate = verbs.add_parser(
        "eval-faq", help="score FAQ drafts against a file of conversations and tune the dedup "
        "threshold (KB_DRAFTS_SIMILARITY)",
    )
    evaluate.add_argument("file", type=Path, help="JSONL: transcript, expected entries")


async def run(
    settings: Settings,
    args: argparse.Namespace,
    *,
    extra: Sequence[tuple[str, Path]] = (),
    app: App | None = None,
) -> int:
    """`extra`: the App's and its plugins' migrations, applied with fmbot's."""
    from bot.storage.database import Database, migrate

    if args.insights_command == "eval-faq":
        from bot.reports import run_faq_eval

        if not args.file.is_file():
            raise ConfigError(f"insights eval-faq: no such file {args.file}")
        settings.check_yandex()
        await run_faq_eval(settings, args.file)
        return 0
    if args.insights_command == "gaps":
        from bot.reports import run_gaps

        if args.days < 1:
            raise ConfigError("insights gaps: --days must be at least 1")
        if args.csv is not None and not args.csv.expanduser().parent.is_dir():
            raise ConfigError(f"insights gaps: --csv: no such folder {args.csv.parent}")
        settings.check_yandex()  # the questions are embedded
        await run_gaps(settings, days=args.days, csv_path=args.csv, app=app)
        return 0

    await migrate(settings.database_url, extra=extra)
    db = Database(settings.database_url)
    try:
        if args.insights_command == "faq":
            return await _faq(db)
        raise ConfigError(f"insights: unknown verb {args.insights_command!r}")
    finally:
        await db.dispose()


async def _faq(db: object) -> int:
    from bot.storage.database import Database
    from bot.storage.repositories import InsightJobRepository

    assert isinstance(db, Database)
    async with db.sessionmaker() as session:
        drafts = await InsightJobRepository(session).pending_drafts()
    if not drafts:
        print("No FAQ drafts waiting for review.")
        return 0
    print(f"{len(drafts)} FAQ drafts waiting for review (Approve / Edit / Reject in the "
          "support chat's \"Knowledge base\" topic):")
    for draft in drafts:
        source = f"conversation {draft.case_id}" if draft.case_id else "conversation deleted"
        posted = "posted" if draft.message_id else "not posted yet"
        print(f"\n#{draft.id}  {draft.created_at:%Y-%m-%d %H:%M}  {source}, {posted}")
        print(f"  Q: {draft.question}")
        answer = " ".join(draft.answer.split())
        print(f"  A: {answer[:300] + '…' if len(answer) > 300 else answer}")
    return 0
