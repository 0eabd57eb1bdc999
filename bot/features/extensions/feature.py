"""What the features registered around a turn (the developer's App's and its plugins'), run
as one `Feature`: their context providers and turn hooks in every turn, in the registry's
order, `on_handoff` told of each handoff, their lifecycle hooks run when the whole bot is
built and when it stops."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.plugin.feature import Feature

if TYPE_CHECKING:
    from collections.abc import Sequence

    from sqlalchemy.ext.asyncio import AsyncSession

    from bot.plugin.context import FeatureContext
    from bot.plugin.conversation import TurnState
    from bot.plugin.extending import ToolCallInfo


async def lifespan(ctx: FeatureContext) -> None:
    """The App's and plugins' context providers in every turn, their hooks after it."""
    ground = await ctx.core()
    registry = ground.registry
    if registry is None:
        return
    from bot.features.extensions.build import build_runner, lifecycle
    from bot.plugin.asker import Asker
    from bot.plugin.extending import RunContext
    from bot.plugin.offers import CallsOfAnswer, HandoffListener, Lifecycle, PersonState

    limit, built = ground.settings.extension_timeout, ctx.built

    async def run(kind: str, context: RunContext) -> None:
        await lifecycle(registry, kind, limit, context)

    ctx.offer(Lifecycle(run))
    extras = build_runner(registry, limit)
    if extras is None:
        return
    ground.stack.push_async_callback(extras.aclose)  # hooks still running get a grace period
    ctx.offer(HandoffListener(extras.handed_over))
    from bot.features.extensions.turn import ExtensionsFeature

    person = built.find(PersonState)
    asker = Asker(person.read if person else None)

    found: list[CallsOfAnswer | None] = []

    async def tool_calls(session: AsyncSession, turn: TurnState) -> Sequence[ToolCallInfo]:
        # The tool loop is built after this feature: looked up once, at the first answer.
        if not found:
            found.append(built.find(CallsOfAnswer))
        calls = found[0]
        return await calls.read(session, turn) if calls is not None else ()

    ctx.turn(ExtensionsFeature(extras, tool_calls=tool_calls, asker=asker))
    ctx.idle(extras.wait_idle)


FEATURE = Feature(name="extensions", lifespan=lifespan)
