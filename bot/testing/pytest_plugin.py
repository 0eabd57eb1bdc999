"""fmbot's pytest plugin (entry point `fmbot` of the group `pytest11`): the `bot_tester`
fixture, a running `BotTester` for each test.

Which App it runs: the `fmbot_app` fixture (override it in your conftest.py), which by default
loads the `fmbot_app` ini option (`fmbot_app = "mybot:app"` under `[tool.pytest.ini_options]`).
The model and settings come from the `fmbot_model` (default `EchoModel()`) and
`fmbot_settings` (default `{}`) fixtures. Loaded by every pytest run where fmbot is
installed, so this module imports nothing heavy until a test asks for the fixture.

It also pauses Python's garbage collector while pytest collects (conftest.py files and test
modules import the bot: aiogram's models, fmbot's features), then freezes what the collection
imported out of the collector's scans and turns it back on: a suite of 100 tester tests took
about 15 % less CPU (bench/results.md). `fmbot_collect_paused = false` under
`[tool.pytest.ini_options]` leaves the collector alone.
"""

from __future__ import annotations

import gc
import importlib
import os
import sys
from collections.abc import AsyncIterator, Generator
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from bot.app import App
    from bot.testing.tester import BotTester
    from bot.testing.wire import TestModel

try:
    import pytest_asyncio

    ASYNC_FIXTURES = True
except ImportError:  # fmbot without its `testing` extra: the fixture says what is missing
    ASYNC_FIXTURES = False


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addini("fmbot_app", "the fmbot App bot_tester runs, as module:attribute "
                  "(e.g. mybot:app)", default="")
    parser.addini("fmbot_collect_paused", "pause the garbage collector while pytest "
                  "collects, then freeze what the collection imported (default: true)",
                  type="bool", default=True)


_PAUSED = pytest.StashKey[bool]()


@pytest.hookimpl(tryfirst=True)
def pytest_load_initial_conftests(early_config: pytest.Config) -> None:
    """The collector paused before the first conftest.py is imported, where the collection
    begins to import the bot. Left as it is where something turned it off already."""
    if early_config.getini("fmbot_collect_paused") and gc.isenabled():
        gc.disable()
        early_config.stash[_PAUSED] = True


@pytest.hookimpl(wrapper=True)
def pytest_collection(session: pytest.Session) -> Generator[None, object, object]:
    """The collector back once the collection ends, failed or not (xdist's controller
    collects nothing, but runs this hook too), with what the collection imported frozen: it
    lives for the whole run, and each later collection walks only what the tests made."""
    try:
        return (yield)
    finally:
        if session.config.stash.get(_PAUSED, False):
            session.config.stash[_PAUSED] = False
            gc.collect()
            gc.freeze()
            gc.enable()


@pytest.fixture
def fmbot_app(request: pytest.FixtureRequest) -> App:
    """The App `bot_tester` runs: the `fmbot_app` ini option's module:attribute."""
    spec = str(request.config.getini("fmbot_app") or "")
    if not spec:
        raise pytest.UsageError(
            "bot_tester: say which App to test: `fmbot_app = \"mybot:app\"` under "
            "[tool.pytest.ini_options], or a `fmbot_app` fixture in conftest.py"
        )
    return load(spec)


@pytest.fixture
def fmbot_model() -> TestModel:
    """The model `bot_tester` answers with (default: `EchoModel()`)."""
    from bot.testing.models import EchoModel

    return EchoModel()


@pytest.fixture
def fmbot_settings() -> dict[str, object]:
    """fmbot settings for `bot_tester`, by variable name (default: none)."""
    return {}


async def _bot_tester(
    fmbot_app: App, fmbot_model: TestModel, fmbot_settings: dict[str, object]
) -> AsyncIterator[BotTester]:
    """A running `BotTester` of `fmbot_app`, stopped after the test."""
    from bot.testing.tester import BotTester

    async with BotTester(fmbot_app, model=fmbot_model, settings=fmbot_settings) as tester:
        yield tester


if ASYNC_FIXTURES:
    bot_tester = pytest_asyncio.fixture(_bot_tester, name="bot_tester")
else:

    @pytest.fixture(name="bot_tester")
    def _missing() -> Any:
        raise pytest.UsageError(
            "bot_tester needs pytest-asyncio: pip install 'fmbot[testing]'"
        )


def load(spec: str) -> App:
    """The App named by `module:attribute`, imported from the current directory too."""
    from bot.app import App

    module_name, _, attribute = spec.partition(":")
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    found = getattr(importlib.import_module(module_name), attribute or "app", None)
    if not isinstance(found, App):
        raise pytest.UsageError(f"fmbot_app = {spec!r} names no fmbot App")
    return found
