"""/toolcalls (admins): the recent tool calls: tool, arguments, outcome, latency, who asked and
who confirmed or declined. `/toolcalls <tool>` shows one tool's, `/toolcalls <n>` the last n."""

from __future__ import annotations

from aiogram import Router
from aiogram.filters import Command, CommandObject
from aiogram.types import Message
from sqlalchemy.ext.asyncio import AsyncSession

from bot.features.tools.audit import calls_text
from bot.features.tools.storage.audit import ToolCallAudit
from bot.plugin.telegram import Deps, Translator, refuse, say
from bot.plugin.texts import register_texts

DEFAULT_SHOWN = 15
MOST_SHOWN = 50

TOOLCALLS_TEXTS: dict[str, dict[str, str]] = {
    "toolcalls_none": {
        "en": "No tool calls yet.",
        "ru": "Вызовов инструментов пока не было.",
    },
    "toolcalls_none_of": {
        "en": "No calls of the tool {name} yet.",
        "ru": "Инструмент {name} ещё не вызывался.",
    },
    "toolcalls_header": {
        "en": "Recent tool calls, newest first:\n\n{lines}",
        "ru": "Последние вызовы инструментов, сначала новые:\n\n{lines}",
    },
    "toolcalls_usage": {
        "en": "/toolcalls - the last {shown} tool calls; /toolcalls <tool> - one tool's; "
        "/toolcalls <n> - the last n (up to {most})",
        "ru": "/toolcalls - последние {shown} вызовов инструментов; /toolcalls <инструмент> - "
        "вызовы одного инструмента; /toolcalls <n> - последние n (до {most})",
    },
}
register_texts(TOOLCALLS_TEXTS)


async def cmd_toolcalls(
    message: Message,
    command: CommandObject,
    session: AsyncSession,
    deps: Deps,
    t: Translator,
    is_admin: bool,
) -> None:
    if not is_admin:
        await session.commit()
        await refuse(deps, message, t("admins_only"))
        return
    argument = (command.args or "").strip()
    limit, name = DEFAULT_SHOWN, None
    if argument.isdigit():
        limit = int(argument)
        if not 1 <= limit <= MOST_SHOWN:
            await session.commit()
            await say(deps, message, t("toolcalls_usage", shown=DEFAULT_SHOWN,
                                          most=MOST_SHOWN))
            return
    elif argument:
        if len(argument.split()) > 1 or len(argument) > 64:
            await session.commit()
            await say(deps, message, t("toolcalls_usage", shown=DEFAULT_SHOWN,
                                          most=MOST_SHOWN))
            return
        name = argument
    calls = await ToolCallAudit(session).recent(limit, name=name)
    text = calls_text(calls)
    await session.commit()  # never hold the database while talking to Telegram
    if not calls:
        text = t("toolcalls_none_of", name=name) if name else t("toolcalls_none")
    else:
        text = t("toolcalls_header", lines=text)
    await say(deps, message, text)


def build_router() -> Router:
    router = Router(name=__name__)
    router.message.register(cmd_toolcalls, Command("toolcalls"))
    return router
