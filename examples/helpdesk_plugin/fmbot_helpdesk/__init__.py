"""An fmbot plugin that ships a feature: the employee's department in every prompt, `/whoami`,
an IT-ticket tool the model may call (after the employee's press), a table of its own, its line
in `fmbot check`, its part of `fmbot report` and a command of its own (`fmbot helpdesk
lookups`).

Enabled with `FMBOT_PLUGINS=helpdesk` once installed; fmbot calls `plugin(app)` at start, which
sets the App up and returns the plugin's `Feature`.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import itertools
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiogram import Router
from aiogram.filters import Command
from aiogram.types import Message
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy import text as sql
from sqlalchemy.ext.asyncio import AsyncSession

from bot import (
    AnswerEvent,
    App,
    CommandContext,
    Feature,
    FeatureCheck,
    Outcome,
    ReportSection,
    ToolContext,
)
from bot import Command as FmbotCommand

log = logging.getLogger("helpdesk")


class HelpdeskSettings(BaseSettings):
    """The plugin's own settings: `HELPDESK_*` in the environment or `.env`."""

    model_config = SettingsConfigDict(env_prefix="HELPDESK_", extra="ignore")

    employees_csv: Path


@dataclass(frozen=True)
class Employee:
    name: str
    department: str


def read_directory(path: Path) -> dict[int, Employee]:
    """`telegram_id,name,department` rows, by Telegram user id."""
    with path.open(encoding="utf-8", newline="") as file:
        return {
            int(row["telegram_id"]): Employee(row["name"].strip(), row["department"].strip())
            for row in csv.DictReader(file)
        }


TEXTS = {
    "known": {
        "en": "You are {name}, {department} department.",
        "ru": "Вы {name}, отдел: {department}.",
    },
    "unknown": {
        "en": "You are not in the staff directory yet: ask HR to add Telegram id {user_id}.",
        "ru": "Вас пока нет в справочнике сотрудников: попросите отдел кадров добавить "
        "Telegram id {user_id}.",
    },
}


def say(key: str, language: str | None, **values: object) -> str:
    lang = "ru" if (language or "").lower().startswith("ru") else "en"
    return TEXTS[key][lang].format(**values)


def plugin(app: App) -> Feature:
    """Set `app` up (`setup`) and return the feature: the directory's line in `fmbot check`
    and the lookups' part of `fmbot report`."""
    settings = app.load_settings(HelpdeskSettings)
    directory = read_directory(settings.employees_csv)
    setup(app, directory)

    def checks(_settings: object, _environ: object) -> list[FeatureCheck]:
        async def staff() -> list[Outcome]:
            return [Outcome("helpdesk", True, f"{len(directory)} employees in "
                                              f"{settings.employees_csv.name}")]

        return [FeatureCheck("helpdesk", staff, credentials=False, settings_only=True)]

    def report(_settings: object) -> list[Any]:
        return [lookups]

    def commands() -> list[FmbotCommand[CommandContext]]:
        return [lookups_command(directory)]

    # Its own table (helpdesk_whoami_log), made by its own migrations after fmbot's.
    return Feature(name="helpdesk", settings=HelpdeskSettings,
                   migrations=[("helpdesk", Path(__file__).parent / "migrations")],
                   checks=checks, report=report, commands=commands)


def lookups_command(directory: dict[int, Employee]) -> FmbotCommand[CommandContext]:
    """`fmbot helpdesk lookups [--days N]`: who looked themselves up with /whoami, most
    lookups first, by the directory's names."""

    def add_parser(commands: Any) -> list[argparse.ArgumentParser]:
        helpdesk = commands.add_parser("helpdesk", help="the helpdesk plugin's commands")
        subs = helpdesk.add_subparsers(dest="helpdesk_command", required=True,
                                       metavar="SUBCOMMAND")
        listing = subs.add_parser("lookups", help="who used /whoami, most lookups first")
        listing.add_argument("--days", type=int, default=7, help="the period (default: 7)")
        return [helpdesk, listing]

    async def run(ctx: CommandContext, args: argparse.Namespace) -> int:
        if args.days < 1:
            print("fmbot helpdesk lookups: --days must be 1 or more")
            return 2
        since = dt.datetime.now(dt.UTC).replace(tzinfo=None) - dt.timedelta(days=args.days)
        await ctx.migrate()
        async with ctx.database() as db, db.engine.connect() as connection:
            rows = (await connection.execute(sql(
                "SELECT telegram_id, count(*) AS n FROM helpdesk_whoami_log "
                "WHERE looked_up_at >= :since GROUP BY telegram_id ORDER BY n DESC, "
                "telegram_id"), {"since": since})).all()
        print(f"/whoami lookups, last {args.days} days: {sum(n for _, n in rows)}")
        for telegram_id, n in rows:
            who = directory.get(telegram_id)
            name = f"{who.name} ({who.department})" if who else "not in the directory"
            print(f"  {telegram_id}  {name}: {n}")
        return 0

    return FmbotCommand("helpdesk", add_parser, run)


async def lookups(db: Any, days: int) -> ReportSection:
    """`fmbot report`'s part: how many /whoami lookups the period had, by how many people
    (`db`: fmbot's database, migrated)."""
    since = dt.datetime.now(dt.UTC).replace(tzinfo=None) - dt.timedelta(days=days)
    async with db.engine.connect() as connection:
        row = (await connection.execute(sql(
            "SELECT count(*), count(DISTINCT telegram_id) FROM helpdesk_whoami_log "
            "WHERE looked_up_at >= :since"), {"since": since})).one()
    return ReportSection(f"Helpdesk, last {days} days: {row[0]} /whoami lookups by "
                         f"{row[1]} employees")


def setup(app: App, directory: dict[int, Employee]) -> None:
    """Add to `app`: /whoami (logged in the plugin's own table), the department as context,
    the IT-ticket tool (confirmed by the employee) and a hook after every answer."""
    numbers = itertools.count(1)
    tickets: dict[str, str] = {}  # by idempotency key: a repeated call opens no second one
    router = Router(name="helpdesk")

    @router.message(Command("whoami"))
    async def cmd_whoami(message: Message, session: AsyncSession) -> None:
        user = message.from_user
        if user is None:
            return
        found = directory.get(user.id)
        if found is None:
            reply = say("unknown", user.language_code, user_id=user.id)
        else:
            reply = say("known", user.language_code, name=found.name,
                        department=found.department)
        # fmbot's session for this update: written and committed before Telegram is called.
        await session.execute(sql("INSERT INTO helpdesk_whoami_log (telegram_id) VALUES (:id)"),
                              {"id": user.id})
        await session.commit()
        await message.answer(reply)

    app.include_router(router)
    app.command("whoami", "Who I am in the staff directory", ru="Кто я в справочнике сотрудников")

    @app.context(name="helpdesk.department")
    async def department(ctx: ToolContext) -> str | None:
        found = directory.get(ctx.user_id)
        if found is None:
            return None
        return (
            f"The user is {found.name} from the {found.department} department; answer with "
            f"that department's procedures in mind."
        )

    @app.tool(confirm=True)
    async def open_it_ticket(ctx: ToolContext, summary: str) -> str:
        """Open an IT support ticket for the employee (a broken laptop, a missing access...)."""
        employee = directory.get(ctx.user_id)
        department = employee.department if employee else "unknown"
        if ctx.idempotency_key not in tickets:
            tickets[ctx.idempotency_key] = f"HD-{next(numbers)}"
        number = tickets[ctx.idempotency_key]
        log.info("helpdesk: ticket %s for %s (%s): %s", number, ctx.user_id, department, summary)
        return f"IT ticket {number} opened for the {department} department"

    @app.on_answer
    async def note_answer(event: AnswerEvent) -> None:
        tools = ",".join(call.name for call in event.tool_calls) or "-"
        log.info("helpdesk: answered %s (tools: %s)", event.user_id, tools)
