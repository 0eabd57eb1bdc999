"""A feature's one lifecycle (bot/plugin/lifespan.py): its declaration is read without building
anything, its phases come in order and feature by feature in the list's order, what follows its
`yield` runs when the bot stops (in the reverse order), and a lifespan that breaks the rules is
stopped with a line naming the feature."""

from __future__ import annotations

import asyncio
import gc
import logging
from collections.abc import AsyncIterator

import pytest

from bot import App
from bot.features.settings import Settings, load_settings
from bot.plugin import ConfigError, Feature, FeatureCheck, FeatureContext, ModelUse, Outcome
from bot.plugin.lifespan import declared
from bot.testing import BotTester


def recording(name: str, events: list[str]) -> Feature:
    """A feature that notes each step of its lifespan in `events`."""

    async def lifespan(ctx: FeatureContext) -> AsyncIterator[None]:
        events.append(f"{name} declares")
        ctx.secret(f"{name}-secret")
        try:  # stopped wherever it is: at a phase it awaits (cancelled there), or after yield
            await ctx.prepare()
            events.append(f"{name} prepared")
            ground = await ctx.core()
            assert ground.db is not None
            events.append(f"{name} core")
            front = await ctx.telegram()
            events.append(f"{name} telegram {'yes' if front is not None else 'none'}")
            yield
        finally:
            events.append(f"{name} stops")

    return Feature(name=name, lifespan=lifespan)


@pytest.fixture
def settings() -> Settings:
    return load_settings(None)


def test_a_declaration_is_read_without_building_and_closed(settings: Settings) -> None:
    events: list[str] = []

    async def staff() -> list[Outcome]:
        return []

    async def lifespan(ctx: FeatureContext) -> AsyncIterator[None]:
        ctx.check(FeatureCheck("staff", staff, credentials=False))
        ctx.model(ModelUse("STAFF_MODEL", "yandexgpt/latest", "text"))
        ctx.secret("s3cret", "")
        try:
            await ctx.core()
            events.append("built")  # never: nothing is built
            yield
        finally:
            events.append("closed")

    registry = declared([Feature(name="staff", lifespan=lifespan)], settings)
    assert [c.name for c in registry.checks] == ["staff"]
    assert [m.setting for m in registry.models] == ["STAFF_MODEL"]
    assert registry.secrets == ("s3cret",)
    assert events == ["closed"]


async def test_a_declaration_closed_leaves_no_generator_running(
    settings: Settings, caplog: pytest.LogCaptureFixture,
) -> None:
    """An async generator closed while it awaited its first phase ends there: its finalizer
    finds nothing to do (a `close()` of the coroutine would leave it marked running, and
    asyncio would log "aclose(): asynchronous generator is already running")."""
    events: list[str] = []
    declared([recording("first", events)], settings)
    gc.collect()
    await asyncio.sleep(0)
    assert events == ["first declares", "first stops"]
    assert "already running" not in caplog.text


async def test_phases_run_in_order_feature_by_feature_and_stop_in_reverse() -> None:
    events: list[str] = []
    app = App(env_file=None)
    app.add_feature(recording("one", events))
    app.add_feature(recording("two", events))
    async with BotTester(app) as tester:
        await tester.user("Ann").says("/start")
        # Before the build, the preflight read the declarations alone, and closed them.
        built = events[len(events) - 1 - events[::-1].index("one declares"):]
        assert built == [
            "one declares", "two declares", "one prepared", "two prepared",
            "one core", "two core", "one telegram yes", "two telegram yes",
        ]
    assert events[-2:] == ["two stops", "one stops"]


async def test_a_feature_finds_what_a_feature_above_it_offered_at_the_same_phase() -> None:
    found: list[object] = []

    async def offers(ctx: FeatureContext) -> None:
        await ctx.core()
        ctx.offer(3.5)

    async def finds(ctx: FeatureContext) -> None:
        await ctx.core()
        found.append(ctx.built.find(float))

    app = App(env_file=None)
    app.add_feature(Feature(name="offers", lifespan=offers))
    app.add_feature(Feature(name="finds", lifespan=finds))
    async with BotTester(app):
        pass
    assert found == [3.5]


async def test_a_phase_awaited_after_a_later_one_is_refused_naming_the_feature() -> None:
    async def backwards(ctx: FeatureContext) -> None:
        await ctx.core()
        await ctx.prepare()

    app = App(env_file=None)
    app.add_feature(Feature(name="backwards", lifespan=backwards))
    with pytest.raises(Exception, match=r"the backwards feature awaited ctx\.prepare\(\) after "
                                        r"ctx\.core\(\)"):
        async with BotTester(app):
            pass


async def test_a_registration_after_the_first_phase_is_refused() -> None:
    async def late(ctx: FeatureContext) -> None:
        await ctx.core()
        ctx.command("late", "Too late")

    app = App(env_file=None)
    app.add_feature(Feature(name="late", lifespan=late))
    with pytest.raises(Exception, match=r"the late feature registered .* after its first phase"):
        async with BotTester(app):
            pass


def test_awaiting_anything_but_a_phase_in_the_declaration_is_refused(
    settings: Settings,
) -> None:
    async def eager(ctx: FeatureContext) -> None:
        await asyncio.sleep(0)

    with pytest.raises(ConfigError, match="the eager feature: the eager feature awaited"):
        declared([Feature(name="eager", lifespan=eager)], settings)


async def test_a_start_that_fails_stops_the_features_already_started(
    caplog: pytest.LogCaptureFixture,
) -> None:
    events: list[str] = []

    async def broken(ctx: FeatureContext) -> None:
        await ctx.core()
        raise RuntimeError("cannot build")

    app = App(env_file=None)
    app.add_feature(recording("first", events))
    app.add_feature(Feature(name="broken", lifespan=broken))
    app.add_feature(recording("last", events))
    with caplog.at_level(logging.ERROR), pytest.raises(RuntimeError, match="cannot build"):
        async with BotTester(app):
            pass
    # "first" got as far as its core phase, "last" was never built: both are stopped, where
    # they waited for their next phase, in the reverse order.
    assert "first core" in events
    assert "last core" not in events
    assert events[-2:] == ["last stops", "first stops"]


async def test_a_lifespan_that_never_yields_is_refused(settings: Settings) -> None:
    async def no_yield(ctx: FeatureContext) -> AsyncIterator[None]:
        await ctx.core()
        if False:  # an async generator that ends without yielding
            yield

    app = App(env_file=None)
    app.add_feature(Feature(name="noyield", lifespan=no_yield))
    with pytest.raises(Exception, match="the noyield feature's lifespan must yield once"):
        async with BotTester(app):
            pass


async def test_a_start_failing_before_the_core_still_stops_what_declared() -> None:
    """A lifespan that yielded in its declaration (it builds nothing on the core) still runs
    what follows its `yield` when a later feature stops the start at its prepare phase."""
    events: list[str] = []

    async def quick(ctx: FeatureContext) -> AsyncIterator[None]:
        events.append("quick declares")
        yield
        events.append("quick stops")

    async def refuses(ctx: FeatureContext) -> None:
        await ctx.prepare()
        raise ConfigError("TOOLS_FILE: cannot read it")

    app = App(env_file=None)
    app.add_feature(Feature(name="quick", lifespan=quick))
    app.add_feature(Feature(name="refuses", lifespan=refuses))
    with pytest.raises(ConfigError, match="cannot read it"):
        async with BotTester(app):
            pass
    assert events[-2:] == ["quick declares", "quick stops"]
