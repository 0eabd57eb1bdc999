"""What runs beside the bot from start to stop (the support desk, image jobs, voice replies,
the sweep of expired tool confirmations): `BotService`, whose hooks `TelegramApp` calls in
order, naming none of them.

- `startup(run)`: before the updates a restart left queued are replayed (the desk learns
  who a person owns before any update is handled; image jobs resume before replayed /image
  commands make new ones);
- `ready(run)`: once they are (or, with replicas, once this replica took over the chats
  whose lease was free);
- `shutdown()`: after the answers in flight finished, in the reverse order;
- `stand_down()`: the poller's lease was lost (several replicas, polling mode): stop at once
  what runs here, leaving what is pending to the new poller (`TelegramApp.stand_down`);
- `wait_idle()`: for tests, until what it started for now is done (bot.testing settles).
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class BotRun:
    """What a service gets at start: where to put its background tasks (cancelled at stop),
    and with several replicas their census (how many are alive; None when alone)."""

    spawn: Callable[[Coroutine[Any, Any, Any], str], None]
    replicas: Callable[[], int] | None = None


class BotService:
    """A part started and stopped with the bot; every hook is optional."""

    async def startup(self, run: BotRun) -> None:
        """Before the queued updates are replayed."""

    async def ready(self, run: BotRun) -> None:
        """Once they are."""

    async def shutdown(self) -> None:
        """After the answers in flight finished."""

    async def stand_down(self) -> None:
        """The poller's lease was lost: stop at once, what is pending stays pending."""

    async def wait_idle(self) -> None:
        """For tests (bot.testing): until what it started for now is done."""
