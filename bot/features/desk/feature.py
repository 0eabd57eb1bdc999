"""The support desk as one `Feature`: its records on the core (the state of a user's case,
offered to tools and the App's context providers), the desk on Telegram (or, without one,
👍/👎 under every answer in KB_MODE=strict), `fmbot insights`, its part of `fmbot report`,
its checks and its tables."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.features.desk.settings import DeskSettings
from bot.plugin.feature import Feature, ModelUse, SettingsCheck, TelegramLine

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from aiogram import Bot
    from aiogram.types import User

    from bot.plugin.built import Built
    from bot.plugin.commands import Command, CommandContext, ReportSection
    from bot.plugin.context import FeatureContext
    from bot.plugin.ground import Groundwork, TelegramGround
    from bot.plugin.offers import EmployeeDirectory
    from bot.plugin.outcome import Outcome
    from bot.plugin.storage import Database
    from bot.plugin.telegram import TelegramPart


def _build(ground: Groundwork, built: Built) -> None:
    from bot.features.desk.build import build_desk_service, desk_state_of, support_hours
    from bot.features.desk.domain.figures import figures_reader
    from bot.features.desk.settings import DeskSettings
    from bot.features.desk.storage.facts import case_facts, case_notes, scored_cases
    from bot.plugin.offers import CaseFacts, CaseNotes, DeskFigures, PersonState, ScoredCases

    # What the desk knows of each conversation and its report's figures per day, for the
    # console (its tables are there whether or not a support chat is configured).
    built.add("desk", CaseFacts(case_facts))
    built.add("desk", ScoredCases(scored_cases))
    built.add("desk", CaseNotes(case_notes))
    desk = ground.settings.section(DeskSettings)
    built.add("desk", DeskFigures(figures_reader(
        ground.db.sessionmaker, lambda: support_hours(desk), desk.idle)))
    service = build_desk_service(ground)
    if service is not None:
        built.add("desk", service)
        built.add("desk", PersonState(desk_state_of(service)))


def _on_telegram(front: TelegramGround, built: Built) -> TelegramPart:
    from bot.features.desk.build import build_desk, desk_on_telegram
    from bot.features.desk.domain import DeskService
    from bot.plugin.models import Embedder
    from bot.plugin.offers import (
        CallLines,
        EmployeeDirectory,
        HandoffListener,
        KnowledgeLookup,
    )

    settings = front.ground.settings
    # The knowledge base's settings, read by name (this feature imports no other's section).
    # 👍/👎 under every answer in KB_MODE=strict deployments.
    strict = settings.value("KB_MODE") == "strict"
    kb_paths = settings.value("KB_PATH")
    kb_folder = kb_paths[0] if isinstance(kb_paths, tuple) and kb_paths else None
    handoff = built.find(HandoffListener)
    calls = built.find(CallLines)
    directory = built.find(EmployeeDirectory)
    # Every feature's menu commands (the App's, /image...), which /operator joins.
    menu = {name: dict(text) for name, text in front.menu.items()}
    desk = build_desk(front.ground, built.find(DeskService), built.find(KnowledgeLookup),
                      built.find(Embedder),
                      front.outbox, front.replicas, menu=menu,
                      on_handoff=handoff.told if handoff is not None else None,
                      call_lines=calls.read if calls is not None else None,
                      employee_of=_employee_line(directory) if directory is not None else None,
                      feedback_buttons=strict, kb_folder=kb_folder)
    return desk_on_telegram(front.parts, desk, feedback_buttons=strict)


def _employee_line(directory: EmployeeDirectory) -> Callable[[int], Awaitable[str]]:
    """The card's "Employee:" line: who the user is signed in as now, with their groups."""

    async def line(user_id: int) -> str:
        shown = await directory.shown(user_id)
        employee = await directory.employee(user_id) if shown else None
        if employee is None:
            return ""
        groups = ", ".join(sorted(employee.groups))
        return f"{shown}; groups: {groups}" if groups else shown

    return line


def _commands() -> list[Command[CommandContext]]:
    from bot.features.desk.cli import command

    return [command]


async def lifespan(ctx: FeatureContext) -> None:
    """The support desk: its settings checked, its support chat a forum (and its line in the
    Telegram check), the insights model, its part of `fmbot report`; on the core, what it
    knows of each conversation (the console's) and the desk service; on Telegram, the
    handoff, the operators' topics and relays."""
    desk = ctx.section(DeskSettings)
    ctx.settings_check(SettingsCheck(frozenset({"run", "eval", "report"}),
                                     lambda settings: settings.section(DeskSettings).check()))
    if desk.insights:
        ctx.model(ModelUse("INSIGHTS_MODEL", desk.insights_model, "text"))

    async def report(db: Database, days: int) -> ReportSection:
        from bot.features.desk.report import desk_report

        return await desk_report(desk)(db, days)

    ctx.report(report)
    if desk.on:
        chat_id = desk.chat_id
        ctx.forum(chat_id)

        async def support_chat(bot: Bot, me: User) -> Outcome:
            from bot.features.desk.checks import check_support_chat

            return await check_support_chat(bot, me.id, chat_id)

        ctx.telegram_check(TelegramLine("support chat", support_chat))
    _build(await ctx.core(), ctx.built)
    front = await ctx.telegram()
    if front is not None:
        ctx.on_front(_on_telegram(front, ctx.built))


FEATURE = Feature(
    name="desk",
    settings=DeskSettings,
    tables=("bot.features.desk.storage.models", "bot.features.desk.storage.insights_models"),
    texts=("bot.features.desk.telegram.texts",),
    commands=_commands,
    lifespan=lifespan,
)
