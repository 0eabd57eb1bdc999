"""What several replicas share: leases, token buckets, rolling windows, semaphores, the
poller's lease.

`LocalCoordinator` for one process; `RedisCoordinator` (REDIS_URL) for several.
"""

from bot.coordination.generations import SharedGenerationLimit
from bot.coordination.leadership import Leadership
from bot.coordination.leases import (
    LeaseGroup,
    LeaseKeeper,
    acquire_waiting,
    held_lease,
    run_while_held,
)
from bot.coordination.local import LocalCoordinator
from bot.coordination.protocol import (
    GAP,
    Bucket,
    CoordinationError,
    CoordinationUnavailableError,
    Coordinator,
    Gap,
    Lease,
    Subscription,
    Window,
)
from bot.coordination.semaphores import spend

__all__ = [
    "GAP",
    "Bucket",
    "CoordinationError",
    "CoordinationUnavailableError",
    "Coordinator",
    "Gap",
    "Leadership",
    "Lease",
    "LeaseGroup",
    "LeaseKeeper",
    "LocalCoordinator",
    "SharedGenerationLimit",
    "Subscription",
    "Window",
    "acquire_waiting",
    "held_lease",
    "run_while_held",
    "spend",
]
