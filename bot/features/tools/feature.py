"""Tools as one `Feature`: the toolbox read before anything starts (TOOLS_FILE and the
Python tools the features registered, the App's `@app.tool` and its plugins' `setup.tool`: a
bad file stops the start there), the tool loop in every turn, its cards and presses on
Telegram, `fmbot tools`, the file's check, its part of `fmbot report` and the secrets the file
reads, which the logs never show."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from typing import TYPE_CHECKING

from bot.features.tools.settings import ToolsSettings
from bot.plugin.feature import Feature, FeatureCheck

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

    from bot.features.tools.toolbox import Toolbox
    from bot.plugin.commands import Command, CommandContext, ReportSection
    from bot.plugin.context import FeatureContext
    from bot.plugin.conversation import TurnState
    from bot.plugin.extending import ToolCallInfo
    from bot.plugin.ground import Preparing
    from bot.plugin.outcome import Outcome
    from bot.plugin.settings import Settings
    from bot.plugin.storage import Database


def _prepare(preparing: Preparing) -> Toolbox:
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
    return toolbox


async def lifespan(ctx: FeatureContext) -> AsyncIterator[None]:
    """The tools: the file's check, variables and secrets, its part of `fmbot report`; the
    toolbox read before anything starts (the App's and plugins' Python tools with it); on the
    core, the tool loop in every turn; on Telegram, its cards and presses. The toolbox (its
    MCP servers) closes when the bot stops."""
    settings = ctx.settings
    tools = ctx.section(ToolsSettings)
    for check in _checks(settings, ctx.environ):
        ctx.check(check)
    ctx.variable(*_variables(settings))
    ctx.secret(*_secrets(settings))

    async def report(db: Database, days: int) -> ReportSection:
        from bot.features.tools.report import tools_report

        return await tools_report()(db, days)

    ctx.report(report)
    toolbox = _prepare(await ctx.prepare())
    ctx.offer(toolbox)
    ground = await ctx.core()
    from bot.features.tools.build import build_tool_loop, start_toolbox_of
    from bot.features.tools.turn import ToolsFeature
    from bot.plugin.offers import CallLines, CallsOfAnswer, EmployeeDirectory, PersonState

    try:
        await start_toolbox_of(toolbox)  # the MCP servers connected
        person = ctx.built.find(PersonState)
        # Without TOOLS_FILE (or the App's tools) the toolbox is empty: no tools, every turn
        # as before. Tools see the state of the user's conversation with a person.
        loop = build_tool_loop(
            tools, ground.db, ground.chat_model, toolbox,
            daily_tokens=settings.daily_token_limit,
            desk_state=person.read if person is not None else None,
            on_superseded=ground.front.superseded,
            directory=ctx.built.find(EmployeeDirectory),
        )
        ctx.offer(loop)
        ctx.offer(loop.decisions)  # what `fmbot chat` asks about a call waiting for a yes
        ctx.offer(CallsOfAnswer(calls_of_answer))
        ctx.offer(CallLines(call_lines_of(ground.db.sessionmaker)))
        ctx.turn(ToolsFeature(loop))
        front = await ctx.telegram()
        if front is not None:
            from bot.features.tools.telegram import tools_on_telegram

            ctx.on_front(tools_on_telegram(front.parts, loop, front.ground.front.superseded))
        yield
    finally:
        await toolbox.close()


def call_lines_of(
    sessionmaker: async_sessionmaker[AsyncSession], limit: int = 10
) -> Callable[[int], Awaitable[list[str]]]:
    """The last `limit` tool calls made in a user's chat, oldest first, a line each (without
    who asked: the lines are about that one user)."""

    async def lines(user_id: int) -> list[str]:
        from bot.features.tools.audit import call_line
        from bot.features.tools.storage.audit import ToolCallAudit

        async with sessionmaker() as session:
            calls = await ToolCallAudit(session).for_chat(user_id, limit)
        return [call_line(call, with_user=False) for call in calls]

    return lines


async def calls_of_answer(session: AsyncSession, turn: TurnState) -> list[ToolCallInfo]:
    """The calls the turn's answer made, as the App's hooks are told them (in the order they
    ran)."""
    from bot.features.tools.storage.calls import ToolCallRepository
    from bot.features.tools.turnpart import ToolTurn
    from bot.plugin.extending import ToolCallInfo, tool_call_outcome

    if not turn.part(ToolTurn).has_calls:
        return []  # it made none and carried none: nothing stored to read
    calls = await ToolCallRepository(session).for_answer(turn.answer_id)
    return [ToolCallInfo(name=call.name, arguments=dict(call.arguments),
                         outcome=tool_call_outcome(call.outcome), result=call.result or "")
            for call in sorted(calls, key=lambda c: (c.round, c.position))]


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
    lifespan=lifespan,
)
