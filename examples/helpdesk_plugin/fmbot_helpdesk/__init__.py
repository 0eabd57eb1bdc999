"""An fmbot plugin: the employee's department in every prompt, and `/whoami`.

Enabled with `FMBOT_PLUGINS=helpdesk` once installed; fmbot calls `setup(app)` at start.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

from aiogram import Router
from aiogram.filters import Command
from aiogram.types import Message
from pydantic_settings import BaseSettings, SettingsConfigDict

from bot import App, ToolContext


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


def text(key: str, language: str | None, **values: object) -> str:
    lang = "ru" if (language or "").lower().startswith("ru") else "en"
    return TEXTS[key][lang].format(**values)


def setup(app: App) -> None:
    """Add the /whoami command and the department context provider to `app`."""
    settings = app.load_settings(HelpdeskSettings)
    directory = read_directory(settings.employees_csv)
    router = Router(name="helpdesk")

    @router.message(Command("whoami"))
    async def cmd_whoami(message: Message) -> None:
        user = message.from_user
        if user is None:
            return
        found = directory.get(user.id)
        if found is None:
            reply = text("unknown", user.language_code, user_id=user.id)
        else:
            reply = text("known", user.language_code, name=found.name,
                         department=found.department)  # fmt: skip
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
