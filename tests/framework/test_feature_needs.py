"""A feature that needs another's part asks `Built` for it by type, and the bot fails at start
naming both when no feature in the list provides it; a part offered by an earlier feature is
found by a later one (App.add_feature, as a plugin ships one)."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from bot import App, AppError, Feature
from bot.plugin import Built, CoreParts, FeatureMissing, Groundwork
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
    async def needs(ground: Groundwork, built: Built) -> CoreParts | None:
        built.need(Greeting, by="greeter")
        return None

    app = App(env_file=None)
    app.add_feature(Feature(name="greeter", build=needs))
    with pytest.raises(FeatureMissing, match="the greeter feature needs Greeting"):
        async with BotTester(app):
            pass


async def test_a_later_feature_finds_what_an_earlier_one_offers() -> None:
    found: list[Greeting] = []

    async def offers(ground: Groundwork, built: Built) -> CoreParts | None:
        built.add("welcome", Greeting("hello"))
        return None

    async def needs(ground: Groundwork, built: Built) -> CoreParts | None:
        found.append(built.need(Greeting, by="greeter"))
        return None

    app = App(env_file=None)
    app.add_feature(Feature(name="welcome", build=offers))
    app.add_feature(Feature(name="greeter", build=needs))
    with pytest.raises(AppError, match="added already"):
        app.add_feature(Feature(name="greeter"))
    async with BotTester(app) as tester:
        assert (await tester.user("Ann").says("/start")).text
    assert found == [Greeting("hello")]
