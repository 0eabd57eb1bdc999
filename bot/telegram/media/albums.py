"""An album (several photos sent at once) is one question.

Telegram delivers an album as separate messages sharing ``media_group_id``
(https://core.telegram.org/bots/api#message), usually within a fraction of a second. The first
message opens the album and its job waits until no part came for ``window`` seconds (timed
from the parts' arrival, and not while an update of the chat is still on its way through the
bot: bot/telegram/gathering.py); later parts join it (their own updates produce no turn) and
leave the durable queue with it. The caption is usually on the first part, but any part's
caption counts.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from bot.clock import loop_time
from bot.storage.repositories import UpdateReceipt
from bot.telegram.gathering import gathered
from bot.telegram.media.photos import ImageRef

WINDOW = 0.8  # seconds after the latest part
MAX_PARTS = 10  # Telegram's album limit


@dataclass(slots=True)
class Album:
    images: list[ImageRef]
    captions: list[str]
    first_message_id: int
    last_at: float  # the latest part's arrival
    closed: bool = False
    receipts: list[UpdateReceipt] = field(default_factory=list)
    too_big: int = 0  # parts over the size limit in every size (refused, said once)

    @property
    def caption(self) -> str:
        return "\n".join(c for c in self.captions if c.strip())


@dataclass(slots=True)
class AlbumJoiner:
    window: float = WINDOW
    clock: Callable[[], float] = loop_time
    _open: dict[tuple[int, str], Album] = field(default_factory=dict)

    def offer(
        self,
        chat_id: int,
        group_id: str | None,
        message_id: int,
        image: ImageRef | None,
        caption: str,
        receipts: Sequence[UpdateReceipt] = (),
        arrived_at: float | None = None,
    ) -> Album | None:
        """None when the message joined an open album (its turn must not run); else the album
        it starts (``image`` None: the part is over the size limit). ``arrived_at``: when the
        bot received the part, on ``clock`` (now when not given)."""
        now = self.clock() if arrived_at is None else arrived_at
        key = (chat_id, group_id or "")
        album = self._open.get(key) if group_id else None
        # Not closed yet: the part is this album's, however late the bot got to it (one
        # media_group_id is one album, https://core.telegram.org/bots/api#message).
        if album is not None and not album.closed:
            self._add(album, image, caption, receipts)
            album.last_at = max(album.last_at, now)
            if len(album.images) + album.too_big >= MAX_PARTS:
                self._close(key, album)
            return None
        album = Album([], [], message_id, now)
        self._add(album, image, caption, receipts)
        if group_id:
            self._open[key] = album
        else:
            album.closed = True
        return album

    def is_open(self, chat_id: int, group_id: str | None) -> bool:
        """An album of this group is still collecting parts (groups: its later parts carry no
        mention, only the first one's caption does)."""
        album = self._open.get((chat_id, group_id or "")) if group_id else None
        return album is not None and not album.closed

    async def complete(
        self,
        chat_id: int,
        group_id: str | None,
        album: Album,
        on_their_way: Callable[[], bool] | None = None,
    ) -> Album:
        """Wait until no more parts can come; ``on_their_way``: an update of the chat is
        still on its way through the bot (``ChatQueues.on_their_way``)."""
        key = (chat_id, group_id or "")
        await gathered(album, self.window, self.clock, lambda: self._close(key, album),
                       on_their_way)
        return album

    @staticmethod
    def _add(
        album: Album, image: ImageRef | None, caption: str, receipts: Sequence[UpdateReceipt]
    ) -> None:
        if image is None:
            album.too_big += 1
        else:
            album.images.append(image)
        album.captions.append(caption)
        album.receipts.extend(receipts)

    def _close(self, key: tuple[int, str], album: Album) -> None:
        album.closed = True
        if self._open.get(key) is album:
            del self._open[key]
