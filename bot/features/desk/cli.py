"""`fmbot insights ...`: what the desk learned, read from the database.

    insights faq                         FAQ drafts waiting for review
    insights gaps [--days N] [--csv F]   content gaps: unanswered questions grouped by topic
    insights eval-faq FILE               drafts scored against a fixture; dedup threshold tuned
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bot.features.desk.settings import DeskSettings
from bot.plugin.commands import Command, CommandContext, Subcommands
from bot.plugin.config import ConfigError

if TYPE_CHECKING:
    from bot.plugin.storage import Database


def add_parser(commands: Subcommands) -> list[argparse.ArgumentParser]:
    insights = commands.add_parser(
        "insights", help="what the support desk learned: FAQ drafts, content gaps"
    )
    verbs = insights.add_subparsers(dest="insights_command", required=True, metavar="VERB")
    faq = verbs.add_parser("faq", help="list the FAQ drafts waiting for review")
    gaps = verbs.add_parser("gaps", help="the questions the bot could not answer, by topic")
    gaps.add_argument("--days", type=int, default=7, help="the period, in days (default 7)")
    gaps.add_argument("--csv", type=Path, default=None, help="also write the gaps to this CSV")
    evaluate = verbs.add_parser(
        "eval-faq", help="score FAQ drafts against a file of conversations and tune the dedup "
        "threshold (KB_DRAFTS_SIMILARITY)",
    )
    evaluate.add_argument("file", type=Path, help="JSONL: transcript, expected entries")
    return [insights, faq, gaps, evaluate]


async def run(factory: CommandContext, args: argparse.Namespace) -> int:
    settings = factory.settings
    if args.insights_command == "eval-faq":
        if not args.file.is_file():
            raise ConfigError(f"insights eval-faq: no such file {args.file}")
        settings.check_yandex()
        await run_faq_eval(factory, args.file)
        return 0
    if args.insights_command == "gaps":
        if args.days < 1:
            raise ConfigError("insights gaps: --days must be at least 1")
        if args.csv is not None and not args.csv.expanduser().parent.is_dir():
            raise ConfigError(f"insights gaps: --csv: no such folder {args.csv.parent}")
        settings.check_yandex()  # the questions are embedded
        await run_gaps(factory, days=args.days, csv_path=args.csv)
        return 0

    await factory.migrate()
    async with factory.database() as db:
        if args.insights_command == "faq":
            return await _faq(db)
        raise ConfigError(f"insights: unknown verb {args.insights_command!r}")


async def run_faq_eval(factory: CommandContext, path: Path) -> None:
    """`fmbot insights eval-faq FILE`: the drafts' precision and recall, and the threshold."""
    from bot.features.desk.insights.faq_eval import evaluate, format_eval, load_cases
    from bot.plugin.clients import build_embedder

    settings = factory.settings
    try:
        cases = load_cases(path)
    except ValueError as exc:
        raise ConfigError(f"insights eval-faq: {exc}") from None
    async with factory.client() as client:
        embedder = build_embedder(settings, client)  # the deployment's model (EMBEDDING_*)

        async def embed(text: str) -> Any:
            return (await embedder.query(text)).values

        desk = settings.section(DeskSettings)
        result = await evaluate(cases, client, desk.insights_model, embed)
    print(format_eval(result, settings.section(DeskSettings).drafts_similarity))


async def run_gaps(factory: CommandContext, *, days: int, csv_path: Path | None) -> None:
    """`fmbot insights gaps`: the period's unanswered questions by topic."""
    from bot.features.desk.build import build_gaps
    from bot.features.desk.insights import InsightJobs
    from bot.features.desk.insights.gaps import format_gaps, write_gaps_csv
    from bot.plugin.models import Embedder
    from bot.plugin.offers import KnowledgeLookup

    settings = factory.settings
    async with factory.core() as c:  # the App's migrations too
        desk = settings.section(DeskSettings)
        jobs = InsightJobs(c.db.sessionmaker, c.client, model_name=desk.insights_model,
                           owner=settings.replica_id)
        try:
            gaps = await build_gaps(desk, c.db, jobs, c.built.need(Embedder, by="desk"),
                                    c.built.find(KnowledgeLookup)).run(days)
        finally:
            await jobs.aclose()
    print(format_gaps(gaps, days))
    if csv_path is not None:
        try:
            rows = write_gaps_csv(gaps, csv_path)
        except OSError as exc:
            raise ConfigError(f"insights gaps: --csv: cannot write {csv_path}: "
                              f"{exc.strerror}") from None
        print(f"{rows} gaps written to {csv_path}")


async def _faq(db: Database) -> int:
    from bot.features.desk.storage.insight_jobs import InsightJobRepository

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


command = Command("insights", add_parser, run)

