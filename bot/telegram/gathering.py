"""Waiting for the rest of a question Telegram delivers in parts: a long paste its client cut
into messages (pastes.py), an album (media/albums.py).

The parts arrive within a fraction of a second of each other, but a loaded bot may handle
them a second or more apart (a busy database, a starved process). So the window between two
parts is measured from their arrival (the intake's acceptance, `arrived_at`), not from their
handling, and a gathering does not close while another update of its chat is still on its way
through the bot (accepted and not yet through its handler: `ChatQueues.on_their_way`). Without
that, a slowed bot answered one album as two questions. `HOLD` bounds that wait: an update
stuck on its way (a membership check timing out, say) delays the chat's question at most
that long.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Protocol

log = logging.getLogger(__name__)

HOLD = 10.0  # seconds past the window, at most, waiting for updates on their way
_LOOK_AGAIN = 0.05  # seconds between looks while updates are on their way


class Parts(Protocol):
    last_at: float  # the latest part's arrival
    closed: bool


async def gathered(
    parts: Parts,
    window: float,
    clock: Callable[[], float],
    close: Callable[[], None],
    on_their_way: Callable[[], bool] | None = None,
    hold: float = HOLD,
) -> None:
    """Until no more parts can come: `window` seconds past the latest part's arrival and
    nothing of the chat on its way (at most `hold` more); then `close()`, unless a part
    closed it first."""
    told = False
    while not parts.closed:
        now = clock()
        quiet = parts.last_at + window - now
        if quiet > 0:
            await asyncio.sleep(quiet)
            continue
        if on_their_way is not None and now < parts.last_at + window + hold and on_their_way():
            if not told:
                log.info("waiting for the chat's updates on their way: a part may be among them")
                told = True
            await asyncio.sleep(_LOOK_AGAIN)
            continue
        close()
        return
