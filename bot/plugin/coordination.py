"""`bot.plugin.coordination`: coordination across replicas: the `Coordinator` (Redis, or
in-process with one replica), leases and their keepers, periodic sweeps run by one replica at a
time, and stopping background tasks. Redis is imported only when one is configured."""

from __future__ import annotations

from bot.coordination import (
    CoordinationUnavailableError,
    Coordinator,
    Lease,
    LeaseKeeper,
    acquire_waiting,
    run_while_held,
)
from bot.coordination.periodic import sweep_in_turns
from bot.coordination.stopping import stop_tasks

__all__ = [
    "CoordinationUnavailableError",
    "Coordinator",
    "Lease",
    "LeaseKeeper",
    "acquire_waiting",
    "run_while_held",
    "stop_tasks",
    "sweep_in_turns",
]
