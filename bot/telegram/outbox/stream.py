"""One streamed answer: frames while it is generated, then a final delivery that is never dropped.

Private chats stream with ``sendMessageDraft`` (https://core.telegram.org/bots/api#sendmessagedraft:
an empty text shows "Thinking…", the draft is an ephemeral preview that must be persisted with a
real ``sendMessage``). Elsewhere, or when drafts are refused, the answer is one message that is
edited, rolled over into further messages past 4096 UTF-16 units. Frames are rendered only when
a call is about to be made, from the latest text (latest wins).

This is the caller's side; the lane's is in streamcalls.py (which call next, and when) and
streamoutcomes.py (what the Bot API's answers change).
"""

from __future__ import annotations

import asyncio

from bot.telegram.outbox.errors import OutboxClosedError
from bot.telegram.outbox.richfinal import RichFinal
from bot.telegram.outbox.streamcalls import Content, _State
from bot.telegram.outbox.streamoutcomes import StreamOutcomes
from bot.telegram.render import RenderedText, render_markdown, split_rendered


class StreamHandle(StreamOutcomes):
    """Handle of one streamed answer; create it with ``Outbox.stream``."""

    # -- public API ---------------------------------------------------------------------------
    @property
    def closed(self) -> bool:
        return self._state is not _State.OPEN or self.error is not None

    def update(self, content: Content) -> None:
        """Offer a newer frame (Markdown or rendered). Never blocks; the latest frame wins."""
        if self.closed or content == self._source:
            return
        self._source = content
        self._active_at = self._outbox.clock()
        # Text before "Thinking…" went out: the text draft shows the stop button as well.
        self._empty_draft_pending = False
        if not self._dirty:
            self._dirty = True
            self._outbox.kick(self._lane)
        elif self._outbox.clock() >= self._lane.update_wakes_at:
            self._outbox.kick(self._lane)  # the frame's slot has come: it goes now

    def drop(self) -> None:
        """Send nothing more, not even a final message: the answer is relinquished (a lost
        lease), and the replica taking the chat over answers again and removes what a group
        saw (the ids `on_shown` reported)."""
        if self._state is not _State.DONE:
            self.abort(OutboxClosedError("answer relinquished to another replica"))

    async def finish(self, final: Content, rich: RichFinal | None = None) -> list[int]:
        """Deliver the final text (split over several messages when long); its message ids.

        ``rich``: deliver it as this rich message instead (one message), the text being the
        fallback when Telegram refuses it (richfinal.py). Raises ``ChatUnreachableError``
        when the chat cannot receive it (e.g. bot blocked).
        """
        rendered = render_markdown(final, cache=self._blocks) if isinstance(final, str) else final
        target = split_rendered(rendered, self._outbox.text_limit)
        if rich is not None and self._state is _State.OPEN:
            self._rich = rich
        return await self._deliver(target)

    async def fail(self, user_text: str, partial_markdown: Content | None = None) -> list[int]:
        """Keep the partial answer (default: latest frame), add ``user_text``; all message ids."""
        partial = self._source if partial_markdown is None else partial_markdown
        parts: list[RenderedText] = []
        if partial is not None:
            rendered = render_markdown(partial) if isinstance(partial, str) else partial
            parts = split_rendered(rendered, self._outbox.text_limit)
        notice = split_rendered(RenderedText.plain(user_text), self._outbox.text_limit)
        return await self._deliver(parts + notice)

    async def _deliver(self, target: list[RenderedText]) -> list[int]:
        if self.error is not None:
            raise self.error
        if self._aborted is not None:
            raise self._aborted
        if self._state is not _State.OPEN:
            raise RuntimeError("this stream was already finished")
        self._state = _State.FINISHING
        self._target = target
        self._future = asyncio.get_running_loop().create_future()
        self._outbox.enqueue(self._lane, self)
        # Shielded: a cancelled caller must not cancel the delivery itself.
        return await asyncio.shield(self._future)
