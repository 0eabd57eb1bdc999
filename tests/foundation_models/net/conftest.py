"""Every test here runs on both event loops the bot may use: asyncio, and uvloop where it is
installed (bot/cli.py); uvloop's transports are not asyncio's classes."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping

import pytest


def pytest_asyncio_loop_factories(
    config: pytest.Config, item: pytest.Item
) -> Mapping[str, Callable[[], asyncio.AbstractEventLoop]]:
    factories: dict[str, Callable[[], asyncio.AbstractEventLoop]] = {
        "asyncio": asyncio.new_event_loop
    }
    try:
        import uvloop
    except ImportError:  # pragma: no cover - Windows
        return factories
    factories["uvloop"] = uvloop.new_event_loop
    return factories
