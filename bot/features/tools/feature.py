"""Tools as one `Feature`: the toolbox read before anything starts (TOOLS_FILE and the
Python tools the features registered, the App's `@app.tool` and its plugins' `setup.tool`: a
bad file stops the start there), the tool loop in every turn, its cards and presses on
Telegram, `fmbot tools`, the file's check, its part of `fmbot report` and the secrets the file
reads, which the logs never show."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING

from bot.features.tools.settings import ToolsSettings
from bot.plugin.feature import CoreParts, Feature, FeatureCheck, TelegramParts

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

    from bot.plugin.built import Built
    from bot.plugin.commands import Command, CommandContext, ReportPart
    from bot.plugin.extending import ToolCallInfo
    from bot.plugin.ground import Groundwork, Preparing, TelegramGround
    from bot.plugin.outcome import Outcome
    from bot.plugin.settings import Settings


def _prepare(preparing: Preparing) -> None:
    from bot.features.tools.build import build_toolbox
    from bot.features.tools.toolbox import Toolbox

    # The Python tools every feature registered (the App's, its plugins'), as one registry.
    registry = preparing.registry
    toolbox = build_toolbox(preparing.settings.section(ToolsSettings),
                            registry.tool_sources if registry else ())
    wrap = preparing.wrap_tools
    if wrap is not None:
        toolbox = Toolbox([wrap(source) for source in toolbox.sources],
                          observer=toolbox.observer)
    preparing.built.add("tools", toolbox)


async def _build(ground: Groundwork, built: Built) -> CoreParts | None:
    from bot.features.tools.build import build_tool_loop, start_toolbox_of
    from bot.features.tools.toolbox import Toolbox
    from bot.features.tools.turn import ToolsFeature
    from bot.plugin.offers import CallLines, CallsOfAnswer, EmployeeDirectory, PersonState

    toolbox = built.need(Toolbox, by="tools")
    ground.stack.push_async_callback(toolbox.close)
    await start_toolbox_of(toolbox)  # the MCP servers connected
    settings = ground.settings
    person = built.find(PersonState)
    # Without TOOLS_FILE (or the App's tools) the toolbox is empty: no tools, every turn as
    # before. Tools see the state of the user's conversation with a person.
    tools = build_tool_loop(
        settings.section(ToolsSettings), ground.db, ground.chat_model, toolbox,
        daily_tokens=settings.daily_token_limit,
        desk_state=person.read if person is not None else None,
        on_superseded=ground.front.superseded,
        directory=built.find(EmployeeDirectory),
    )
    built.add("tools", tools)
    built.add("tools", CallsOfAnswer(calls_of_answer))
    built.add("tools", CallLines(call_lines_of(ground.db.sessionmaker)))
    return CoreParts(turn=[ToolsFeature(tools)])


def call_lines_of(
    sessionmaker: async_sessionmaker[AsyncSession], limit: int = 10
) -> Callable[[int], Awaitable[list[str]]]:
    """The last `limit` tool calls made in a user's chat, oldest first, a line each (without
    who asked: the lines are about that one user)."""

    async def lines(user_id: int) -> list[str]:
        from bot.features.tools.audit import call_line
        from bot.features.tools.storage.calls import ToolCallRepository

        async with sessionmaker() as session:
            calls = await ToolCallRepository(session).for_chat(user_id, limit)
        return [call_line(call, with_user=False) for call in calls]

    return lines


async def calls_of_answer(session: AsyncSession, answer_id: int) -> list[ToolCallInfo]:
    """The calls the answer made, as the App's hooks are told them (in the order they ran)."""
    from bot.features.tools.storage.calls import ToolCallRepository
    from bot.plugin.extending import ToolCallInfo, tool_call_outcome

    calls = await ToolCallRepository(session).for_answer(answer_id)
    return [ToolCallInfo(name=call.name, arguments=dict(call.arguments),
                         outcome=tool_call_outcome(call.outcome), result=call.result or "")
            for call in sorted(calls, key=lambda c: (c.round, c.position))]


def _on_telegram(front: TelegramGround, built: Built) -> TelegramParts:
    from bot.features.tools.loop import ToolLoop
    from bot.features.tools.telegram import tools_on_telegram

    return TelegramParts(part=tools_on_telegram(built.find(ToolLoop),
                                                front.ground.front.superseded))


def _commands() -> list[Command[CommandContext]]:
    from bot.features.tools.cli import command

    return [command]


def _checks(settings: Settings, environ: Mapping[str, str]) -> list[FeatureCheck]:
    path = settings.section(ToolsSettings).file
    if path is None:
        return []

    async def tools() -> list[Outcome]:
        from bot.features.tools.checks import check_tools

        return await check_tools(path, environ=environ)

    return [FeatureCheck("tools", tools, credentials=False, imports=(
        "bot.features.tools.httpactions", "bot.features.tools.mcpservers"))]


def _report(settings: Settings) -> list[ReportPart]:
    from bot.features.tools.report import tools_report

    return [tools_report()]


def _secrets(settings: Settings) -> list[str]:
    from bot.features.tools.secrets import file_secrets

    tools = settings.section(ToolsSettings)
    signing = tools.signing_secret  # TOOLS_SIGNING_SECRET signs the tools' requests
    return ([signing.get_secret_value()] if signing is not None else []) + file_secrets(
        tools.file)


def _variables(settings: Settings) -> list[str]:
    # The tools file's ${VAR}: read from the environment and .env, not settings of fmbot's.
    file = settings.section(ToolsSettings).file
    if file is None:
        return []
    from bot.features.tools.toolsfile import referenced_variables

    return sorted(referenced_variables(file))  # unreadable: none


FEATURE = Feature(
    name="tools",
    settings=ToolsSettings,
    tables=("bot.features.tools.storage.models",),
    texts=("bot.features.tools.cards", "bot.features.tools.approvals",
           "bot.features.tools.toolcalls"),
    commands=_commands,
    checks=_checks,
    report=_report,
    secrets=_secrets,
    variables=_variables,
    prepare=_prepare,
    build=_build,
    on_telegram=_on_telegram,
)
