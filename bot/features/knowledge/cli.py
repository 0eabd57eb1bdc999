"""`fmbot kb sync | search | eval`: the knowledge base from the command line."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from bot.features.knowledge.progress import ProgressBar, summary
from bot.features.knowledge.settings import KnowledgeSettings
from bot.plugin.commands import Command, CommandContext, Subcommands

if TYPE_CHECKING:
    # Only when a kb command runs: `fmbot --help`, `migrate` and `run` build this module's
    # parser and should not pay for the knowledge base's imports (numpy, the indexer).
    from bot.features.knowledge.base import KnowledgeBase


def add_parser(commands: Subcommands) -> list[argparse.ArgumentParser]:
    kb = commands.add_parser("kb", help="the knowledge base: sync, search, eval (KB_PATH)")
    actions = kb.add_subparsers(dest="kb_command", required=True, metavar="ACTION")
    sync = actions.add_parser("sync", help="index new and changed documents, drop removed ones")
    sync.add_argument("--allow-removal", action="store_true",
                      help="remove documents gone from KB_PATH even when they are "
                      "KB_REMOVAL_LIMIT of the index or more (default: refuse and keep them)")
    search = actions.add_parser("search", help="show the passages found for a question")
    search.add_argument("question")
    search.add_argument("-k", type=int, default=None, help="how many (default KB_TOP_K)")
    evaluate = actions.add_parser("eval", help="retrieval and abstention quality on a JSONL file")
    evaluate.add_argument("file", type=Path)
    return [kb, sync, search, evaluate]


async def run(factory: CommandContext, args: argparse.Namespace) -> int:
    from bot.features.knowledge.build import build_knowledge
    from bot.plugin.clients import build_embedder

    settings = factory.settings
    if args.kb_command == "search" and not args.question.strip():
        print('fmbot: kb search: give a question to search for, e.g. kb search "delivery times"',
              file=sys.stderr)
        return 2
    if args.kb_command == "search" and args.k is not None and args.k < 1:
        print("fmbot: kb search: -k must be at least 1", file=sys.stderr)
        return 2
    await factory.migrate()
    # The files go to a Yandex Vector Store.
    if settings.section(KnowledgeSettings).backend == "yandex":
        from bot.features.knowledge.cli_store import run_store

        return await run_store(factory, args)
    async with factory.database() as db, factory.client() as client:
        area = settings.section(KnowledgeSettings)
        if area.mode == "off":  # the commands work on KB_PATH whatever KB_MODE says
            area = area.model_copy(update={"mode": "assist"})
        knowledge = build_knowledge(area, db, build_embedder(settings, client))
        assert knowledge is not None
        if args.kb_command == "sync":
            return await _sync(knowledge, allow_removal=args.allow_removal)
        await knowledge.load()
        if args.kb_command == "search":
            return await _search(knowledge, args.question, args.k)
        return await _eval(knowledge, args.file)


async def _sync(knowledge: KnowledgeBase, *, allow_removal: bool = False) -> int:
    bar = ProgressBar(sys.stderr)
    report = await knowledge.sync(bar, allow_removal=allow_removal)
    bar.close()
    print(summary(report))
    if report.removal_refused:
        print(f"fmbot: kb sync refused to remove documents: {report.refusal()}", file=sys.stderr)
        return 1
    return 0


async def _search(knowledge: KnowledgeBase, question: str, k: int | None) -> int:
    from bot.features.knowledge.types import label

    retrieval = await knowledge.search(question, k, readers=None)  # the deployment: all
    verdict = "covered" if retrieval.covered else "NOT covered"
    print(f"{verdict} (best similarity {retrieval.best_score:.3f}, "
          f"KB_MIN_SCORE {knowledge.retriever.min_score:g})")
    if retrieval.hits:
        # Hits are ordered by the fusion of the word and meaning rankings; the similarity is
        # what KB_MIN_SCORE compares with, so a lower one can rank above a higher one.
        print("ranked by words and meaning together; similarity is what KB_MIN_SCORE compares")
    for rank, hit in enumerate(retrieval.hits, start=1):
        where = label(hit.title, hit.heading)
        ranks = ", ".join(
            f"{name} #{place}"
            for name, place in (("words", hit.lexical_rank), ("meaning", hit.vector_rank))
            if place is not None
        )
        print(f"{rank}. similarity {hit.score:.3f} ({ranks or 'fused'})  {hit.path}  {where}"
              + (f"  {hit.url}" if hit.url else ""))
        snippet = " ".join(hit.text.split())
        print(f"   {snippet[:200]}{'…' if len(snippet) > 200 else ''}")
    return 0


async def _eval(knowledge: KnowledgeBase, file: Path) -> int:
    from bot.features.knowledge.evaluation import (
        EvalFileError,
        check_expected,
        evaluate,
        format_report,
        read_cases,
    )

    try:
        cases = read_cases(file)
        check_expected(file, cases, await knowledge.indexed_paths())
    except (OSError, EvalFileError) as exc:
        print(f"fmbot: {exc}", file=sys.stderr)
        return 2
    print(format_report(await evaluate(knowledge, cases)))
    return 0


command = Command("kb", add_parser, run)
