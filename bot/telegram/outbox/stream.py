"""One streamed answer: frames while it is generated, then a final delivery that is never dropped.

Private chats stream with ``sendMessageDraft`` (https://core.telegram.org/bots/api#sendmessagedraft:
an empty text shows "Thinking…", the draft is an ephemeral preview that must be persisted with a
real ``sendMessage``). Elsewhere, or when drafts are refused, the answer is one message that is
edited, rolled over into further messages past 4096 UTF-16 units. Frames are rendered only when
a call is about to be made, from the latest text (latest wins).

This is the caller's side, and the job its chat's lane works on. The answer's state is in
streamstate.py; the lane asks streamcalls.py which call to make next and when, and tells
streamoutcomes.py what the Bot API answered.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from aiogram.exceptions import TelegramAPIError

from bot.telegram.outbox.errors import (
    ChatUnreachableError,
    Failure,
    OutboxClosedError,
    OutboxError,
)
from bot.telegram.outbox.jobs import Call, Slots, StreamJob, awaited
from bot.telegram.outbox.messages import ShownMessages
from bot.telegram.outbox.richfinal import RichFinal, RichFrames
from bot.telegram.outbox.streamcalls import StreamCalls
from bot.telegram.outbox.streamoutcomes import StreamOutcomes
from bot.telegram.outbox.streamstate import Content, Phase, StreamState
from bot.telegram.render import RenderedText, render_markdown, split_rendered

if TYPE_CHECKING:
    from bot.telegram.outbox.lane import Lane
    from bot.telegram.outbox.streamhost import StreamHost

log = logging.getLogger(__name__)


class StreamHandle(StreamJob):
    """Handle of one streamed answer; create it with ``Outbox.stream``."""

    def __init__(
        self,
        outbox: StreamHost,
        lane: Lane,
        *,
        draft_id: int,
        use_draft: bool,
        reply_to: int | None,
        thread_id: int | None,
        can_stop: bool,
        typing: bool,
        now: float,
        business: str | None = None,
    ) -> None:
        self._state = StreamState(
            host=outbox,
            lane=lane,
            draft_id=draft_id,
            reply_to=reply_to,
            thread_id=thread_id,
            can_stop=can_stop,
            uses_draft=use_draft,
            messages=ShownMessages(lane.chat_id, reply_to, thread_id, business),
            typing_at=now if typing and not use_draft else None,
            active_at=now,
            empty_draft_pending=use_draft,
        )
        self._calls = StreamCalls(self._state)
        self._outcomes = StreamOutcomes(self._state)
        self.chat_id = lane.chat_id
        self.draft_id = draft_id

    # -- what the caller sees and sets ----------------------------------------------------------
    @property
    def message_ids(self) -> list[int]:
        """Telegram ids of the messages this answer shows now (edit mode / after finish)."""
        return list(self._state.messages.ids)

    @property
    def uses_draft(self) -> bool:
        """Streamed as drafts (False: by edits, as after Telegram refused drafts here)."""
        return self._state.uses_draft

    @property
    def error(self) -> ChatUnreachableError | None:
        """Set when the chat cannot receive the answer (the bot was blocked, the chat gone)."""
        return self._state.error

    @property
    def first_text_at(self) -> float | None:
        """When Telegram accepted the first call showing answer text (a draft with text, or
        the first message), on the outbox's clock: the turn's first-visible latency."""
        return self._state.first_text_at

    @property
    def on_shown(self) -> Callable[[list[int]], None] | None:
        """Called with message_ids each time the answer starts a new message, so the caller
        can record where a partial answer is shown (and remove it after a crash)."""
        return self._state.on_shown

    @on_shown.setter
    def on_shown(self, callback: Callable[[list[int]], None] | None) -> None:
        state = self._state  # a record (streamstate.py), its fields set as the stream goes
        state.on_shown = callback

    @property
    def rich_frames(self) -> RichFrames | None:
        """Drafts as rich messages where the frame needs one; None: text drafts only (as
        after a refused rich draft)."""
        return self._state.rich_frames

    @rich_frames.setter
    def rich_frames(self, frames: RichFrames | None) -> None:
        state = self._state
        state.rich_frames = frames

    @property
    def closed(self) -> bool:
        return self._state.phase is not Phase.OPEN or self._state.error is not None

    # -- the caller's calls ---------------------------------------------------------------------
    def update(self, content: Content) -> None:
        """Offer a newer frame (Markdown or rendered). Never blocks; the latest frame wins."""
        s = self._state
        if self.closed or content == s.source:
            return
        s.source = content
        s.active_at = s.host.clock()
        # Text before "Thinking…" went out: the text draft shows the stop button as well.
        s.empty_draft_pending = False
        if not s.dirty:
            s.dirty = True
            s.host.kick(s.lane)
        elif s.host.clock() >= s.lane.update_wakes_at:
            s.host.kick(s.lane)  # the frame's slot has come: it goes now

    def drop(self) -> None:
        """Send nothing more, not even a final message: the answer is relinquished (a lost
        lease), and the replica taking the chat over answers again and removes what a group
        saw (the ids `on_shown` reported)."""
        if self._state.phase is not Phase.DONE:
            self._state.abort(OutboxClosedError("answer relinquished to another replica"))

    async def withdraw(self) -> None:
        """Remove what this answer shows, then send nothing more: the answer is relinquished
        (a lost lease) and the replica taking the chat over answers it again in a message of
        its own. A call already on its way is let end first, so a message it showed (a frame
        racing the loss, its id never stored) is removed too; a draft is left to vanish."""
        s = self._state
        if s.phase is not Phase.OPEN or s.error is not None:
            return
        if s.uses_draft and not s.messages.ids and not s.messages.stale:
            self.drop()  # nothing but a draft, which Telegram drops by itself
            return
        try:
            await self._deliver([])  # a final of no parts: every message shown is deleted
        except (OutboxError, TelegramAPIError) as exc:
            log.info("chat %s: a relinquished answer's messages not removed: %s",
                     self.chat_id, exc)

    async def finish(self, final: Content, rich: RichFinal | None = None) -> list[int]:
        """Deliver the final text (split over several messages when long); its message ids.

        ``rich``: deliver it as this rich message instead (one message), the text being the
        fallback when Telegram refuses it (richfinal.py). Raises ``ChatUnreachableError``
        when the chat cannot receive it (e.g. bot blocked).
        """
        s = self._state
        rendered = render_markdown(final, cache=s.blocks) if isinstance(final, str) else final
        target = split_rendered(rendered, s.host.text_limit)
        if rich is not None and s.phase is Phase.OPEN:
            s.rich = rich
        return await self._deliver(target)

    async def fail(self, user_text: str, partial_markdown: Content | None = None) -> list[int]:
        """Keep the partial answer (default: latest frame), add ``user_text``; all message ids."""
        s = self._state
        partial = s.source if partial_markdown is None else partial_markdown
        parts: list[RenderedText] = []
        if partial is not None:
            rendered = render_markdown(partial) if isinstance(partial, str) else partial
            parts = split_rendered(rendered, s.host.text_limit)
        notice = split_rendered(RenderedText.plain(user_text), s.host.text_limit)
        return await self._deliver(parts + notice)

    async def _deliver(self, target: list[RenderedText]) -> list[int]:
        s = self._state
        if s.error is not None:
            raise s.error
        if s.aborted is not None:
            raise s.aborted
        if s.phase is not Phase.OPEN:
            raise RuntimeError("this stream was already finished")
        s.phase = Phase.FINISHING
        s.target = target
        s.future = asyncio.get_running_loop().create_future()
        s.host.enqueue(s.lane, self)
        # Shielded: a cancelled caller must not cancel the delivery itself.
        return await awaited(s.future)

    # -- the lane's job (Job) -------------------------------------------------------------------
    @property
    def done(self) -> bool:
        return self._state.phase is Phase.DONE

    @property
    def waiter(self) -> asyncio.Future[list[int]] | None:
        return self._state.future

    @property
    def streaming(self) -> bool:
        return self._state.streaming

    def ready_at(self, slots: Slots) -> float | None:
        return self._calls.ready_at(slots)

    def update_grace(self, slots: Slots) -> float:
        return self._calls.update_grace(slots)

    def next_call(self, slots: Slots) -> Call | None:
        return self._calls.next_call(slots)

    def preview_call(self) -> Call | None:
        return self._calls.preview_call()

    def on_success(self, call: Call, result: Any, now: float) -> None:
        self._outcomes.on_success(call, result, now)

    def on_failure(self, call: Call, failure: Failure, exc: BaseException, now: float) -> None:
        self._outcomes.on_failure(call, failure, exc, now)

    def abort(self, exc: BaseException) -> None:
        self._state.abort(exc)
