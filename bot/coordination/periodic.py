"""The pace of a periodic call that may ride with other calls (`within`, riding.py).

Once every `every` seconds, as a plain loop would, but the call is made `ride` seconds before
it is due with `within` set to what is left: it goes with any other call of the process made
meanwhile, and alone when it is due. The local coordinator answers at once, so there the call
goes `ride` early and the pace is the same.
"""

from __future__ import annotations

import asyncio


class Period:
    def __init__(self, every: float, *, ride: float = 0.5) -> None:
        """`ride`: the part of `every` the call may wait to ride (0: a plain loop)."""
        self.every = every
        self.ride = every * ride
        self._due: float | None = None

    async def tick(self) -> float:
        """Sleep until the next call may be made; its `within`: seconds until it is due."""
        loop = asyncio.get_running_loop()
        now = loop.time()
        # A call that took longer than a period (Redis slow): the next one is due now.
        self._due = now + self.every if self._due is None else max(self._due + self.every, now)
        await asyncio.sleep(max(0.0, self._due - self.ride - now))
        return max(0.0, self._due - loop.time())
