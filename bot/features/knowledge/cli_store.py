"""`fmbot kb sync | search` with KB_BACKEND=yandex: the knowledge base in a Vector Store."""

from __future__ import annotations

import argparse
import sys
from contextlib import AsyncExitStack

from bot.features.knowledge.progress import ProgressBar, summary
from bot.features.knowledge.settings import KnowledgeSettings
from bot.features.knowledge.store_sync import StoreSyncReport
from bot.plugin.commands import CommandContext
from bot.plugin.models import STORE_ROLE, FoundationModelsError, NotFoundError


def store_lines(report: StoreSyncReport) -> list[str]:
    """The store's line: which one, and for a new one what to put in .env."""
    if report.created:
        return [f"vector store: {report.store_id} (created now; set "
                f"KB_VECTOR_STORE_ID={report.store_id} to keep using it)"]
    return [f"vector store: {report.store_id}"]


async def run_store(factory: CommandContext, args: argparse.Namespace) -> int:
    from bot.features.knowledge.build import build_store_sync
    from bot.plugin.clients import build_auth_from, build_store_client

    settings = factory.settings
    async with AsyncExitStack() as stack:
        db = await stack.enter_async_context(factory.database())
        client = build_store_client(settings, build_auth_from(settings))
        stack.push_async_callback(client.aclose)
        syncer = build_store_sync(settings.section(KnowledgeSettings), db, client)
        try:
            if args.kb_command == "sync":
                bar = ProgressBar(sys.stderr)
                report = await syncer.sync(bar, allow_removal=args.allow_removal)
                bar.close()
                print("\n".join([*store_lines(report), summary(report)]))
                if report.removal_refused:
                    print(f"fmbot: kb sync refused to remove documents: {report.refusal()}",
                          file=sys.stderr)
                    return 1
                return 0
            if args.kb_command == "search":
                store_id = await syncer.store_id()
                if not store_id:
                    print("fmbot: kb search: no vector store yet; run `python -m bot kb sync`",
                          file=sys.stderr)
                    return 1
                k = args.k or settings.section(KnowledgeSettings).top_k
                hits = await client.search(store_id, args.question, k)
                print(f"vector store {store_id}: {len(hits)} passages")
                for rank, hit in enumerate(hits, start=1):
                    snippet = " ".join(hit.text.split())
                    print(f"{rank}. score {hit.score:.3f}  {hit.filename}\n   "
                          f"{snippet[:200]}{'…' if len(snippet) > 200 else ''}")
                return 0
        except NotFoundError as exc:
            store_id = settings.section(KnowledgeSettings).store_id
            print(f"fmbot: kb {args.kb_command}: no vector store {store_id!r} "
                  f"in folder {settings.yandex_folder_id} ({exc.message}); check "
                  "KB_VECTOR_STORE_ID, or leave it empty to create one", file=sys.stderr)
            return 1
        except FoundationModelsError as exc:
            print(f"fmbot: kb {args.kb_command}: the vector store failed: {exc} (the service "
                  f"account needs the role {STORE_ROLE} in folder {settings.yandex_folder_id})",
                  file=sys.stderr)
            return 1
    print("fmbot: kb eval works on the local index (KB_BACKEND=local)", file=sys.stderr)
    return 2
