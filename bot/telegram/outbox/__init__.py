"""One outbound scheduler per bot for every Bot API call of streamed answers."""

from __future__ import annotations

from bot.telegram.outbox.core import Outbox, Pacing
from bot.telegram.outbox.errors import ChatUnreachableError, OutboxClosedError, OutboxError
from bot.telegram.outbox.richfinal import RichFinal
from bot.telegram.outbox.stream import StreamHandle

__all__ = [
    "ChatUnreachableError",
    "Outbox",
    "OutboxClosedError",
    "OutboxError",
    "Pacing",
    "RichFinal",
    "StreamHandle",
]
