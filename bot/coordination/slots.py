"""One folder's generation slots on this replica: its queue, its slots in the store and what
the store may have lost of them (the state SharedGenerationLimit keeps; generations.py)."""

from __future__ import annotations

import asyncio
from collections import deque

from bot.coordination.semaphores import Backoff


class Folder:
    """One folder's slots on this replica."""

    __slots__ = ("asker", "backoff", "checked", "holders", "name", "rebuilt", "seen",
                 "unshared", "unsure_until", "waiters")

    def __init__(self, name: str) -> None:
        self.name = name  # the store's semaphore
        self.waiters: deque[asyncio.Future[str]] = deque()  # generations waiting, in order
        self.holders: set[str] = set()  # this replica's slots in the store, in use
        self.asker: asyncio.Task[None] | None = None
        self.backoff = Backoff()
        self.checked = float("-inf")  # when a slot above the share was last offered back
        # Generations running under the local cap (the store away), not counted by it yet.
        self.unshared: set[str] = set()
        # Slots the store lost while in use, counted again (a renewal: generations.py):
        # given back to the store when their generation ends, never handed on.
        self.rebuilt: set[str] = set()
        # The store has answered for this folder (so marked it known): a store found without
        # the mark since came back empty (acquire_slot's `rebuild`).
        self.seen = False
        # Until when the shared count may be short of what runs (generations.py: a 429).
        self.unsure_until = float("-inf")


def first_waiting(waiters: deque[asyncio.Future[str]]) -> asyncio.Future[str] | None:
    """The first generation still waiting (those that left the queue are dropped)."""
    while waiters and waiters[0].done():
        waiters.popleft()
    return waiters[0] if waiters else None


def hand(place: Folder, holder: str) -> bool:
    """Give the slot to the first generation waiting here; False when none waits."""
    waiter = first_waiting(place.waiters)
    if waiter is None:
        return False
    place.waiters.popleft()
    waiter.set_result(holder)
    return True
