"""The bot as a command or the test kit reaches it once built (bot/wiring/run.py's `BuiltBot`
and `Core`), as far as a feature's command uses it: protocols, so that a feature names nothing
of bot.wiring."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from aiogram.types import Update

    from bot.foundation_models.client import FoundationModelsClient
    from bot.plugin.built import Built
    from bot.storage.database import Database


class RunningCore(Protocol):
    """The shared core: the database, the model client, and what the features built (found
    by type)."""

    @property
    def db(self) -> Database: ...

    @property
    def client(self) -> FoundationModelsClient: ...

    @property
    def built(self) -> Built: ...


class RunningBot(Protocol):
    """The whole bot, built in process and not yet taking updates."""

    @property
    def core(self) -> RunningCore: ...

    async def settle(self, calls_made: Callable[[], int]) -> None:
        """Until the bot has nothing more to do for now (`calls_made`: the Bot API calls
        made so far)."""
        ...

    def forums(self) -> list[int]:
        """The chats the features need as forum supergroups (the support desk's)."""
        ...

    async def ready(self) -> None:
        """What the features keep up to date done once, before the first question."""
        ...

    async def process(self, update: Update) -> None:
        """One update handled, as if Telegram had sent it."""
        ...

    async def startup(self) -> None:
        """Its services started, as when it starts taking updates."""
        ...

    async def shutdown(self) -> None:
        """Its services stopped."""
        ...
