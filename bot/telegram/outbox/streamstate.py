"""One streamed answer's state: what it shows, what it is about to show, and where it stands.

Three parts share it, each with one job: the caller's handle (stream.py: new frames, the
final), the lane's choice of the next call (streamcalls.py), and what the Bot API's answers
change (streamoutcomes.py). They hold this object; none reaches into another.
"""

from __future__ import annotations

import asyncio
import enum
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from bot.telegram.outbox.errors import ChatUnreachableError
from bot.telegram.outbox.messages import ShownMessages
from bot.telegram.outbox.richfinal import RichFinal, RichFrames
from bot.telegram.render import RenderedText, render_markdown, split_rendered
from bot.telegram.render.chunks import BlockCache

if TYPE_CHECKING:
    from bot.telegram.outbox.lane import Lane
    from bot.telegram.outbox.streamhost import StreamHost

Content = str | RenderedText


class Phase(enum.Enum):
    OPEN = "open"  # frames while the answer is generated
    FINISHING = "finishing"  # the final's calls
    DONE = "done"


@dataclass(slots=True, eq=False)
class StreamState:
    """`host`: the outbox's options, clock and lanes; `messages`: the messages shown so far
    (edit mode, rolled-over parts, the final)."""

    host: StreamHost
    lane: Lane
    draft_id: int
    reply_to: int | None
    thread_id: int | None
    can_stop: bool
    uses_draft: bool
    messages: ShownMessages
    # When the next typing action is due (edit mode, before the first message).
    typing_at: float | None
    # The last update(): a stream forgotten by its caller goes quiet.
    active_at: float
    phase: Phase = Phase.OPEN
    error: ChatUnreachableError | None = None
    # Called with message_ids each time a streamed answer starts a new message, so the
    # caller can record where a partial answer is shown (and remove it after a crash).
    on_shown: Callable[[list[int]], None] | None = None
    # When Telegram accepted the first call showing answer text (a draft with text, or the
    # first message), on the outbox's clock: the turn's first-visible latency.
    first_text_at: float | None = None
    source: Content | None = None  # the latest frame offered
    render_key: Content | None = None  # the frame `parts` were rendered from
    parts: list[RenderedText] = field(default_factory=list)
    blocks: BlockCache = field(default_factory=dict)  # rendered block groups, frame to frame
    dirty: bool = False  # a newer frame than the one shown
    empty_draft_pending: bool = False  # "Thinking…" still to show
    draft_shown: RenderedText | None = None
    draft_at: float | None = None
    target: list[RenderedText] | None = None  # the final's parts, once finishing
    # The final as a rich message (richfinal.py), until it is shown or refused.
    rich: RichFinal | None = None
    rich_shown: bool = False
    # Drafts as rich messages where the frame needs one (set by the caller; None: text
    # drafts only, as after a refused rich draft).
    rich_frames: RichFrames | None = None
    future: asyncio.Future[list[int]] | None = None  # the caller's wait for the final
    aborted: BaseException | None = None

    @property
    def chat_id(self) -> int:
        return self.lane.chat_id

    @property
    def streaming(self) -> bool:
        return self.phase is Phase.OPEN and self.error is None

    def nothing_shown(self) -> bool:
        if self.uses_draft:
            return not (self.draft_shown is not None and self.draft_shown.text)
        return not self.messages.ids

    def parts_now(self) -> list[RenderedText]:
        """The latest frame, rendered and split (again only when it changed)."""
        source = self.source
        if source is not self.render_key:
            self.render_key = source
            if source is None:
                self.parts = []
            else:
                rendered = (
                    render_markdown(source, partial=True, cache=self.blocks)
                    if isinstance(source, str)
                    else source
                )
                self.parts = split_rendered(rendered, self.host.text_limit)
        return self.parts

    def complete(self, ids: list[int]) -> None:
        self.phase = Phase.DONE
        self.blocks, self.parts, self.source = {}, [], None  # free the answer's copies
        self.rich = None
        if self.future is not None and not self.future.done():
            self.future.set_result(ids)

    def abort(self, exc: BaseException) -> None:
        self.aborted = exc
        self.phase = Phase.DONE
        if self.future is not None and not self.future.done():
            self.future.set_exception(exc)
