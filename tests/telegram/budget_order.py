"""The priority order every bot-wide budget must keep, for the tests of each budget."""

from __future__ import annotations

import asyncio

from bot.telegram.outbox.budget import BotBudget, Priority

# Reserved in this order while the budget has no slot free...
MIXED = [
    ("frame 1", Priority.FRAME),
    ("first 1", Priority.FIRST),
    ("frame 2", Priority.FRAME),
    ("final 1", Priority.FINAL),
    ("first 2", Priority.FIRST),
    ("final 2", Priority.FINAL),
    ("opening 1", Priority.OPENING),
]
# ... and granted in this one: by priority, then first come first served. A chat that shows
# nothing yet goes first (a final that is its first text, then first frames: a group's first
# words before the finals of private chats that already show their text as a draft).
SERVED = ["opening 1", "first 1", "first 2", "final 1", "final 2", "frame 1", "frame 2"]


async def served_order(budget: BotBudget) -> list[str]:
    order: list[str] = []
    waits = {name: budget.reserve(priority) for name, priority in MIXED}
    for name, future in waits.items():
        assert future is not None
        future.add_done_callback(lambda _, name=name: order.append(name))
        future.add_done_callback(lambda _: budget.sent())  # answered at once
    await asyncio.gather(*(f for f in waits.values() if f is not None))
    return order
