"""An fmbot plugin: one feature (`FEATURE`), built on fmbot's public API alone (`bot` and
`bot.plugin`): the employee's department in every prompt, `/whoami` (counted per employee per
day, up to `HELPDESK_DAILY_LOOKUPS`, and noted in a table of its own), its lines in `/help`
and `/stats`, an IT-ticket tool the model may call (after the employee's press), its settings
checked by `fmbot check` and before `run`, its part of `fmbot report` and a command of its own
(`fmbot helpdesk lookups`, `fmbot helpdesk triage`, which asks `HELPDESK_TRIAGE_MODEL`).

Enabled with `FMBOT_PLUGINS=helpdesk` once installed: its entry point names `FEATURE`, whose
`lifespan` declares, registers and builds all of it on the context fmbot gives it, as
fmbot's own features do.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import itertools
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aiogram import Router
from aiogram.filters import Command
from aiogram.types import Message
from pydantic import Field
from sqlalchemy import text as sql
from sqlalchemy.ext.asyncio import AsyncSession

from bot import AnswerEvent, ToolContext
from bot import Command as FmbotCommand
from bot.plugin import (
    ChatMessage,
    CommandContext,
    ConfigError,
    DailyCounts,
    Feature,
    FeatureCheck,
    FeatureContext,
    ModelUse,
    Outcome,
    Principal,
    ReportSection,
    Role,
    Section,
    SettingsCheck,
    Subcommands,
    TelegramPart,
    Translator,
    failed,
    passed,
    register_texts,
    utc_today,
)

if TYPE_CHECKING:
    from bot.plugin.settings import Settings

log = logging.getLogger("helpdesk")

#: The kind the plugin counts /whoami lookups under, per employee per day (fmbot's daily
#: counts: the kind is prefixed with the plugin's name, as every plugin's should be).
LOOKUPS = "helpdesk.whoami"
COLUMNS = ("telegram_id", "name", "department")


class HelpdeskSettings(Section):
    """The plugin's section of the bot's settings: `HELPDESK_*` in the environment or `.env`,
    validated with fmbot's and listed by `fmbot settings`."""

    employees_csv: Path = Field(validation_alias="HELPDESK_EMPLOYEES_CSV")
    """The staff directory: `telegram_id,name,department`, with a header row."""
    daily_lookups: int = Field(default=20, ge=1, validation_alias="HELPDESK_DAILY_LOOKUPS")
    """How many times an employee may use /whoami a day."""
    triage_model: str = Field(default="yandexgpt-lite/latest",
                              validation_alias="HELPDESK_TRIAGE_MODEL")
    """The model `fmbot helpdesk triage` asks which department a request is for."""


@dataclass(frozen=True)
class Employee:
    name: str
    department: str


class Directory:
    """The staff directory, read on first use: a file that cannot be read is named by the
    plugin's settings check (before `run`, in `fmbot check`), not by a failed set-up."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._by_id: dict[int, Employee] | None = None

    def problem(self) -> str | None:
        """What is wrong with the file (None: it reads)."""
        try:
            with self.path.open(encoding="utf-8", newline="") as file:
                header = next(csv.reader(file), [])
        except OSError as exc:
            return f"cannot read {self.path} ({exc.strerror})"
        missing = [column for column in COLUMNS if column not in header]
        return f"{self.path} has no column {', '.join(missing)}" if missing else None

    def get(self, telegram_id: int) -> Employee | None:
        if self._by_id is None:
            with self.path.open(encoding="utf-8", newline="") as file:
                self._by_id = {
                    int(row["telegram_id"]): Employee(row["name"].strip(),
                                                      row["department"].strip())
                    for row in csv.DictReader(file)
                }
        return self._by_id.get(telegram_id)

    def __len__(self) -> int:
        self.get(0)
        return len(self._by_id or {})


register_texts({
    "helpdesk.known": {
        "en": "You are {name}, {department} department.",
        "ru": "Вы {name}, отдел: {department}.",
    },
    "helpdesk.unknown": {
        "en": "You are not in the staff directory yet: ask HR to add Telegram id {user_id}.",
        "ru": "Вас пока нет в справочнике сотрудников: попросите отдел кадров добавить "
        "Telegram id {user_id}.",
    },
    "helpdesk.limit": {
        "en": "/whoami answers {limit} times a day: try again tomorrow.",
        "ru": "/whoami отвечает не больше {limit} раз в день: попробуйте завтра.",
    },
    "helpdesk.help": {
        "en": "/whoami: who you are in the staff directory ({limit} a day)",
        "ru": "/whoami: кто вы в справочнике сотрудников ({limit} в день)",
    },
    "helpdesk.stats": {
        "en": "Staff directory lookups today: {used} of {limit}",
        "ru": "Запросов к справочнику сегодня: {used} из {limit}",
    },
    "helpdesk.admin": {
        "en": "Staff directory lookups today, all employees: {total}",
        "ru": "Запросов к справочнику сегодня, все сотрудники: {total}",
    },
})


class HelpdeskLines:
    """What /help and /stats say of the plugin (`bot.plugin.UsageLines`)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit

    def help_line(self, t: Translator) -> str:
        return t("helpdesk.help", limit=self.limit)

    async def stats_line(self, session: AsyncSession, user_id: int, t: Translator) -> str:
        used = await DailyCounts(session).for_user(user_id, utc_today(), LOOKUPS)
        return t("helpdesk.stats", used=used, limit=self.limit)

    async def admin_line(self, session: AsyncSession, t: Translator) -> str:
        return t("helpdesk.admin", total=await DailyCounts(session).total(utc_today(), LOOKUPS))


def directory_of(settings: Settings) -> Directory:
    """The staff directory the settings name (read on first use)."""
    return Directory(settings.section(HelpdeskSettings).employees_csv)


def check_directory(settings: Settings) -> None:
    """The plugin's check of its settings: the directory reads, with its columns."""
    if (problem := directory_of(settings).problem()) is not None:
        raise ConfigError(f"HELPDESK_EMPLOYEES_CSV: {problem}")


def helpdesk_command() -> FmbotCommand[CommandContext]:
    """`fmbot helpdesk lookups [--days N]`: who looked themselves up with /whoami, most
    lookups first, by the directory's names. `fmbot helpdesk triage TEXT`: the department a
    request is for, as HELPDESK_TRIAGE_MODEL reads it."""

    def add_parser(commands: Subcommands) -> list[argparse.ArgumentParser]:
        helpdesk = commands.add_parser("helpdesk", help="the helpdesk plugin's commands")
        subs = helpdesk.add_subparsers(dest="helpdesk_command", required=True,
                                       metavar="SUBCOMMAND")
        listing = subs.add_parser("lookups", help="who used /whoami, most lookups first")
        listing.add_argument("--days", type=int, default=7, help="the period (default: 7)")
        triage = subs.add_parser("triage", help="which department a request is for")
        triage.add_argument("request", help="the request, as an employee wrote it")
        return [helpdesk, listing, triage]

    async def run(ctx: CommandContext, args: argparse.Namespace) -> int:
        directory = directory_of(ctx.settings)
        if args.helpdesk_command == "triage":
            return await triage(ctx, args.request)
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

    async def triage(ctx: CommandContext, request: str) -> int:
        async with ctx.client() as client:
            completion = await client.complete([
                ChatMessage(Role.SYSTEM, "Name the one department of the company this IT "
                                         "request is for, in one word."),
                ChatMessage(Role.USER, request),
            ], model=ctx.settings.section(HelpdeskSettings).triage_model)
        print(completion.text.strip())
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


async def lifespan(ctx: FeatureContext) -> None:
    """The plugin's one lifecycle, on the context fmbot gives it: what it declares (its
    settings check, model, `fmbot check` line and `fmbot report` part), what it registers
    (/whoami counted per employee per day and noted in its own table, the department as
    context, the IT-ticket tool confirmed by the employee, a hook after every answer), and,
    on Telegram, its /help and /stats lines."""
    settings = ctx.section(HelpdeskSettings)
    directory = Directory(settings.employees_csv)
    daily_lookups = settings.daily_lookups
    # Before `run` and the plugin's own commands start (and in `fmbot check`).
    ctx.settings_check(SettingsCheck(frozenset({"run", "helpdesk"}), check_directory))
    ctx.model(ModelUse("HELPDESK_TRIAGE_MODEL", settings.triage_model, "text"))

    async def staff() -> list[Outcome]:
        if (problem := directory.problem()) is not None:
            return [failed("helpdesk", problem, "fix HELPDESK_EMPLOYEES_CSV")]
        return [passed("helpdesk", f"{len(directory)} employees in "
                                   f"{settings.employees_csv.name}; /whoami "
                                   f"{daily_lookups} a day each")]

    ctx.check(FeatureCheck("helpdesk", staff, credentials=False, settings_only=True))
    ctx.report(lookups)
    numbers = itertools.count(1)
    tickets: dict[str, str] = {}  # by idempotency key: a repeated call opens no second one
    router = Router(name="helpdesk")

    @router.message(Command("whoami"))
    async def cmd_whoami(message: Message, session: AsyncSession, principal: Principal) -> None:
        # Who asks, as fmbot decided it for this update (never re-read from the message).
        user_id = principal.user_id
        if user_id is None:
            return
        t = Translator.for_code(message.from_user.language_code if message.from_user else None)
        counts = DailyCounts(session)
        if await counts.for_user(user_id, utc_today(), LOOKUPS) >= daily_lookups:
            await message.answer(t("helpdesk.limit", limit=daily_lookups))
            return
        found = directory.get(user_id)
        if found is None:
            reply = t("helpdesk.unknown", user_id=user_id)
        else:
            reply = t("helpdesk.known", name=found.name, department=found.department)
        # fmbot's session for this update: written and committed before Telegram is called.
        await counts.add(user_id, utc_today(), LOOKUPS)
        await session.execute(sql("INSERT INTO helpdesk_whoami_log (telegram_id) VALUES (:id)"),
                              {"id": user_id})
        await session.commit()
        await message.answer(reply)

    ctx.include_router(router)
    ctx.command("whoami", "Who I am in the staff directory",
                ru="Кто я в справочнике сотрудников")

    # The turn's hook that adds to the prompt: a context provider, asked before every answer.
    @ctx.context(name="helpdesk.department")
    async def department(tool: ToolContext) -> str | None:
        found = directory.get(tool.user_id)
        if found is None:
            return None
        return (
            f"The user is {found.name} from the {found.department} department; answer with "
            f"that department's procedures in mind."
        )

    @ctx.tool(confirm=True)
    async def open_it_ticket(tool: ToolContext, summary: str) -> str:
        """Open an IT support ticket for the employee (a broken laptop, a missing access...)."""
        employee = directory.get(tool.user_id)
        department = employee.department if employee else "unknown"
        if tool.idempotency_key not in tickets:
            tickets[tool.idempotency_key] = f"HD-{next(numbers)}"
        number = tickets[tool.idempotency_key]
        log.info("helpdesk: ticket %s for %s (%s): %s", number, tool.user_id, department,
                 summary)
        return f"IT ticket {number} opened for the {department} department"

    @ctx.on_answer
    async def note_answer(event: AnswerEvent) -> None:
        tools = ",".join(call.name for call in event.tool_calls) or "-"
        log.info("helpdesk: answered %s (tools: %s)", event.user_id, tools)

    if await ctx.telegram() is not None:  # its /help and /stats lines
        ctx.on_front(TelegramPart(lines=HelpdeskLines(daily_lookups)))


FEATURE = Feature(
    name="helpdesk",
    settings=HelpdeskSettings,
    # Its own table (helpdesk_whoami_log), made by its own migrations after fmbot's.
    migrations=[("helpdesk", Path(__file__).parent / "migrations")],
    commands=lambda: [helpdesk_command()],
    lifespan=lifespan,
)
