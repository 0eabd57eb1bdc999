"""The knowledge base's part on the Telegram front (bot/telegram/featureparts.py): /kb
(admins): what the knowledge base holds, when it was synced, what failed; /kb sync."""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from aiogram import Router
from aiogram.filters import Command, CommandObject
from aiogram.types import Message

from bot.plugin.telegram import (
    Deps,
    FrontParts,
    TelegramPart,
    Translator,
    refuse,
    say,
)

if TYPE_CHECKING:  # numpy loads only with a knowledge base (see __init__.py)
    from bot.features.knowledge.base import KbStatus, KnowledgeBase

log = logging.getLogger(__name__)
MAX_FAILURES_SHOWN = 10


class KbCommand:
    """/kb on the knowledge base (None: none is configured, /kb says so). A sync runs in the
    background, its report sent when done."""

    def __init__(self, knowledge: KnowledgeBase | None) -> None:
        self.knowledge = knowledge
        self._running: set[asyncio.Task[None]] = set()

    async def handle(
        self, message: Message, command: CommandObject, deps: Deps, t: Translator,
        is_admin: bool,
    ) -> None:
        if not is_admin:
            await refuse(deps, message, t("admins_only"))
            return
        knowledge = self.knowledge
        if knowledge is None:
            await say(deps, message, t("kb_off"))
            return
        argument = (command.args or "").strip().lower()
        if argument == "sync":
            await say(deps, message, t("kb_sync_started"))
            task = asyncio.create_task(_sync_and_report(knowledge, deps, message, t))
            self._running.add(task)
            task.add_done_callback(self._running.discard)
            return
        if argument:
            await say(deps, message, t("kb_usage"))
            return
        await say(deps, message, describe(await knowledge.status(), t))

    def build_router(self) -> Router:
        router = Router(name=__name__)
        router.message.register(self.handle, Command("kb"))
        return router


def knowledge_on_telegram(front: FrontParts, knowledge: KnowledgeBase | None) -> TelegramPart:
    """/kb, for the knowledge base given (or saying there is none)."""

    return TelegramPart(early=[KbCommand(knowledge).build_router()])


async def _sync_and_report(
    knowledge: KnowledgeBase, deps: Deps, message: Message, t: Translator
) -> None:
    from bot.features.knowledge.background import sync_logged

    report = await sync_logged(knowledge)
    if report is None:
        await say(deps, message, t("kb_sync_failed"))
        return
    text = t(
        "kb_sync_done", seconds=report.seconds, files=report.files, indexed=report.indexed,
        removed=report.removed, embedded=report.embedded, reused=report.reused,
        skipped=len(report.skipped),
    )
    if report.removal_refused:
        text += t("kb_sync_kept", kept=report.kept, total=report.indexed_before)
    await say(deps, message, text)


def describe(status: KbStatus, t: Translator) -> str:
    run = status.last_run
    if run is None:
        last = t("kb_never_synced")
    else:
        finished = run.finished_at or run.started_at
        last = t("kb_last_run", status=run.status, finished=finished.strftime("%Y-%m-%d %H:%M"),
                 files=run.files, embedded=run.embedded, reused=run.reused, removed=run.removed)
    versions = ", ".join(f"{model} {version or '?'} ({count})"
                         for model, version, count in status.model_versions) or "-"
    text = t(
        "kb_status", mode=status.mode.value, documents=status.documents,
        passages=status.passages, vectors=status.vectors, roots=", ".join(status.roots),
        versions=versions, last=last, syncing=t("kb_syncing") if status.syncing else "",
    )
    if run is not None and run.skipped:
        shown = run.skipped[:MAX_FAILURES_SHOWN]
        items = "\n".join(f"- {path}: {reason}" for path, reason in shown)
        if len(run.skipped) > MAX_FAILURES_SHOWN:
            items += f"\n… +{len(run.skipped) - MAX_FAILURES_SHOWN}"
        text += t("kb_failures", items=items)
    return text

