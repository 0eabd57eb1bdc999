"""Join a long paste that Telegram split into several messages back into one question.

Telegram clients cut a text over 4,096 characters into consecutive messages sent at once.
Answering each part (or refusing the later ones as "busy") is a known annoyance of LLM bots
(user-pain-points.md, item 11). A message long enough to be such a part opens a short window;
further messages from the same user in the same chat within it join the same turn. The window
is timed from the parts' arrival, and the paste does not close while an update of the chat is
still on its way through the bot (gathering.py).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from bot.clock import loop_time
from bot.storage.repositories import UpdateReceipt
from bot.telegram.gathering import gathered

# A part cut by Telegram is close to 4,096 characters; a shorter message ends the paste.
PART_MIN = 3000
WINDOW = 1.0  # seconds after the latest part


@dataclass(slots=True)
class Paste:
    parts: list[str]
    last_at: float  # the latest part's arrival
    closed: bool = False
    # The queued updates of every part: they leave the queue when the whole text is stored.
    receipts: list[UpdateReceipt] = field(default_factory=list)

    @property
    def text(self) -> str:
        return "\n".join(self.parts)


@dataclass(slots=True)
class PasteJoiner:
    window: float = WINDOW
    part_min: int = PART_MIN
    clock: Callable[[], float] = loop_time
    _open: dict[tuple[int, int], Paste] = field(default_factory=dict)

    def offer(
        self,
        chat_id: int,
        user_id: int,
        text: str,
        receipts: Sequence[UpdateReceipt] = (),
        arrived_at: float | None = None,
    ) -> Paste | None:
        """Returns None when `text` joined an open paste (its turn must not run), else the
        paste this message starts (one part only if nothing follows). `arrived_at`: when the
        bot received the message, on `clock` (now when not given)."""
        key = (chat_id, user_id)
        now = self.clock() if arrived_at is None else arrived_at
        paste = self._open.get(key)
        if paste is not None and not paste.closed and now - paste.last_at <= self.window:
            paste.parts.append(text)
            paste.last_at = max(paste.last_at, now)
            paste.receipts.extend(receipts)
            if len(text) < self.part_min:
                self._close(key, paste)  # a short tail is the paste's last part
            return None
        paste = Paste([text], now, receipts=list(receipts))
        if len(text) >= self.part_min:
            self._open[key] = paste
        else:
            paste.closed = True
        return paste

    async def complete(
        self,
        chat_id: int,
        user_id: int,
        paste: Paste,
        on_their_way: Callable[[], bool] | None = None,
    ) -> str:
        """Wait until no more parts can come; the whole text. `on_their_way`: an update of
        the chat is still on its way through the bot (`ChatQueues.on_their_way`)."""
        key = (chat_id, user_id)
        await gathered(paste, self.window, self.clock, lambda: self._close(key, paste),
                       on_their_way)
        return paste.text

    def _close(self, key: tuple[int, int], paste: Paste) -> None:
        paste.closed = True
        if self._open.get(key) is paste:
            del self._open[key]
