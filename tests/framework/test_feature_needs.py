"""A feature that needs another's part asks `Built` for it by type, and the bot fails at start
naming both when no feature in the list provides it; a part offered by an earlier feature is
found by a later one (App.add_feature, as a plugin ships one)."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from bot import App, AppError, Feature
from bot.plugin import Built, FeatureContext, FeatureMissing
from bot.testing import BotTester


@dataclass(frozen=True)
class Greeting:
    text: str


def test_need_names_the_feature_and_what_it_needs() -> None:
    built = Built()
    with pytest.raises(FeatureMissing) as missing:
        built.need(Greeting, by="greeter")
    assert "the greeter feature needs Greeting" in str(missing.value)
    built.add("welcome", Greeting("hi"))
    assert built.need(Greeting, by="greeter") == Greeting("hi")
    assert built.all(Greeting) == [Greeting("hi")]


async def test_a_bot_whose_feature_needs_a_missing_part_fails_at_start() -> None:
    async def needs(ctx: FeatureContext) -> None:
        await ctx.core()
        ctx.built.need(Greeting, by="greeter")

    app = App(env_file=None)
    app.add_feature(Feature(name="greeter", lifespan=needs))
    with pytest.raises(FeatureMissing, match="the greeter feature needs Greeting"):
        async with BotTester(app):
            pass


async def test_a_later_feature_finds_what_an_earlier_one_offers() -> None:
    found: list[Greeting] = []

    async def offers(ctx: FeatureContext) -> None:
        await ctx.core()
        ctx.offer(Greeting("hello"))

    async def needs(ctx: FeatureContext) -> None:
        await ctx.core()
        found.append(ctx.built.need(Greeting, by="greeter"))

    app = App(env_file=None)
    app.add_feature(Feature(name="welcome", lifespan=offers))
    app.add_feature(Feature(name="greeter", lifespan=needs))
    with pytest.raises(AppError, match="added already"):
        app.add_feature(Feature(name="greeter"))
    async with BotTester(app) as tester:
        assert (await tester.user("Ann").says("/start")).text
    assert found == [Greeting("hello")]
