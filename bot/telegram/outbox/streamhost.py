"""What a streamed answer (stream.py, streamcalls.py) needs of the outbox that made it: the
pacing options, the clock, and putting work on its chat's lane. The outbox (core.py) is one;
the streams depend on this protocol, not on core.py, so the imports run one way."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from bot.telegram.outbox.jobs import Job
    from bot.telegram.outbox.lane import Lane


class StreamHost(Protocol):
    typing_interval: float
    draft_keepalive: float
    frame_grace: float
    text_limit: int
    abandon_after: float
    clock: Callable[[], float]

    def enqueue(self, lane: Lane, job: Job) -> None:
        """Put `job` on `lane` (refused at once when the outbox is closed) and wake it."""

    def kick(self, lane: Lane) -> None:
        """Wake `lane`'s runner, starting it when idle: it has new work to look at."""

    def refuse_drafts(self, chat_id: int) -> None:
        """Telegram refused drafts in this chat: its later answers stream by edits."""
