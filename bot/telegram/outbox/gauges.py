"""The outbox's queue depths, read when /metrics is scraped (nothing is counted per call).

Kept out of core.py: they read the outbox's lanes and budgets from outside, at scrape time.
"""

from __future__ import annotations

from bot.telegram.outbox.budget import LocalBudget
from bot.telegram.outbox.core import Outbox
from bot.telegram.outbox.shared import SharedBudget
from bot.telegram.outbox.window import WindowBudget


def deliveries(outbox: Outbox) -> int:
    """Finals, plain sends and other calls requested and not yet delivered, in every chat."""
    return sum(
        sum(1 for job in lane.ops if not job.done) for lane in list(outbox._lanes.values())
    )


def budget_waiters(outbox: Outbox) -> int:
    """Calls of this process waiting for a bot-wide message slot (shared or not)."""
    budget = outbox._messages
    if isinstance(budget, LocalBudget | SharedBudget | WindowBudget):
        return budget.waiting
    return 0
