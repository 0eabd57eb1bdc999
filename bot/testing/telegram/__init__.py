"""The test kit's fake Telegram: one Bot API in memory (chats, messages, drafts, forums,
guest mode, rich and ephemeral messages, business connections, files, flood limits, faults),
served two ways.

- In process (`FakeTelegram`, session.py): an aiogram `BaseSession` whose calls are built as
  aiogram's `AiohttpSession` sends them and answered by the same method handlers; what
  `BotTester` runs a developer's App against, and what it shows a test (views.py).
- Over loopback HTTP, in fmbot's own tests (`TelegramServer` of tests/fakes/telegram, with
  its `/_control` test API; not in the wheel): for tests that run the bot as a process, and
  manual runs: `python -m tests.fakes.telegram --port 0` prints `LISTENING http://...`.

The one state and its handlers (`FakeBotApi`, users.py and the modules it mixes in) import
nothing of the rest of `bot`: the wire is encoded by hand (wire.py), so a bug in fmbot's code
cannot hide behind the same bug here. Names are imported on first use: the HTTP server starts
without paying for aiogram's types.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

_WHERE = {
    "BOT_ID": "bot.testing.telegram.session",
    "BOT_TOKEN": "bot.testing.telegram.session",
    "BOT_USERNAME": "bot.testing.telegram.session",
    "FakeTelegram": "bot.testing.telegram.session",
    "SentCall": "bot.testing.telegram.views",
    "Shown": "bot.testing.telegram.views",
    "message_of": "bot.testing.telegram.views",
}

if TYPE_CHECKING:
    from bot.testing.telegram.session import BOT_ID, BOT_TOKEN, BOT_USERNAME, FakeTelegram
    from bot.testing.telegram.views import SentCall, Shown, message_of

__all__ = ["BOT_ID", "BOT_TOKEN", "BOT_USERNAME", "FakeTelegram", "SentCall", "Shown",
           "message_of"]


def __getattr__(name: str) -> Any:
    where = _WHERE.get(name)
    if where is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(where), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_WHERE])
