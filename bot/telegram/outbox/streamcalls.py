"""Which Bot API call one streamed answer makes next, and when: the lane's side of a stream.

A frame goes when its slot comes (drafts in the chat's draft budget, edits and rolled-over
messages in its message budget, keeping a reserve for the final); "Thinking…" (an empty draft),
typing and keepalive drafts fill the wait; once finishing, the final's parts go as messages,
a one-part final shown first as a draft while it waits for a bot-wide slot. What the Bot API
answers is handled in streamoutcomes.py; the caller's side is StreamHandle (stream.py).
"""

from __future__ import annotations

import asyncio
import enum
from collections.abc import Callable
from typing import TYPE_CHECKING

from bot.telegram.outbox.botapi import ApiCall, draft_call, typing_call
from bot.telegram.outbox.budget import Priority
from bot.telegram.outbox.errors import ChatUnreachableError
from bot.telegram.outbox.jobs import Call, Slots, StreamJob
from bot.telegram.outbox.lane import Lane
from bot.telegram.outbox.messages import ShownMessages
from bot.telegram.render import RenderedText, render_markdown, split_rendered
from bot.telegram.render.chunks import BlockCache

if TYPE_CHECKING:
    from bot.telegram.outbox.streamhost import StreamHost

Content = str | RenderedText


class _State(enum.Enum):
    OPEN = "open"
    FINISHING = "finishing"
    DONE = "done"


class StreamCalls(StreamJob):
    """A streamed answer's state, and the calls the lane makes for it."""

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
        self._outbox = outbox
        self._lane = lane
        self.chat_id = lane.chat_id
        self.draft_id = draft_id
        self.reply_to = reply_to
        self.thread_id = thread_id
        self.can_stop = can_stop
        self.uses_draft = use_draft
        self.error: ChatUnreachableError | None = None
        # Called with message_ids each time a streamed answer starts a new message, so the
        # caller can record where a partial answer is shown (and remove it after a crash).
        self.on_shown: Callable[[list[int]], None] | None = None
        # When Telegram accepted the first call showing answer text (a draft with text, or the
        # first message), on the outbox's clock: the turn's first-visible latency.
        self.first_text_at: float | None = None
        self._state = _State.OPEN
        self._source: Content | None = None
        self._render_key: Content | None = None
        self._parts: list[RenderedText] = []
        self._blocks: BlockCache = {}  # rendering of unchanged block groups, frame to frame
        self._dirty = False
        self._empty_draft_pending = use_draft
        self._draft_shown: RenderedText | None = None
        self._draft_at: float | None = None
        self._typing_at: float | None = now if typing and not use_draft else None
        self._active_at = now  # last update(): a stream forgotten by its caller goes quiet
        self._messages = ShownMessages(self.chat_id, reply_to, thread_id, business)
        self._target: list[RenderedText] | None = None
        self._future: asyncio.Future[list[int]] | None = None
        self._aborted: BaseException | None = None

    @property
    def message_ids(self) -> list[int]:
        """Telegram ids of the messages this answer shows now (edit mode / after finish)."""
        return list(self._messages.ids)

    # -- Job ------------------------------------------------------------------------------------
    @property
    def done(self) -> bool:
        return self._state is _State.DONE

    @property
    def waiter(self) -> asyncio.Future[list[int]] | None:
        return self._future

    @property
    def streaming(self) -> bool:
        return self._state is _State.OPEN and self.error is None

    def ready_at(self, slots: Slots) -> float | None:
        if self._state is _State.FINISHING:
            return slots.message
        if not self.streaming:
            return None
        if self._empty_draft_pending:
            return slots.draft
        times = []
        if self._dirty:
            times.append(self._frame_slot(slots))
        if self._typing_at is not None and not self._messages.ids:
            times.append(max(slots.gate, self._typing_at))
        if self.uses_draft and self._draft_at is not None and self._draft_shown is not None:
            base = slots.draft_frame
            times.append(max(base, self._draft_at + self._outbox.draft_keepalive))
        return min(times) if times else None

    def update_grace(self, slots: Slots) -> float:
        """A pending draft frame waits for the next update after its slot (with a newer text
        than the slot's moment would show), ``frame_grace`` longer at most; anything else
        (typing, keepalives, "Thinking…", finals, edit-mode frames) is on time."""
        if (
            self._state is _State.OPEN
            and self.uses_draft
            and self._dirty
            and not self._empty_draft_pending
        ):
            return self._outbox.frame_grace
        return 0.0

    def _frame_slot(self, slots: Slots) -> float:
        """Drafts spend the chat's draft budget; after the first text they keep its reserve
        (for the final's preview). In edit mode the first text a user sees may
        spend the lane's reserve, like the final message (it is what makes the bot feel fast);
        frames after it keep the reserve."""
        if self.uses_draft:
            return slots.draft if self._nothing_shown() else slots.draft_frame
        return slots.message if not self._messages.ids else slots.frame

    def _nothing_shown(self) -> bool:
        if self.uses_draft:
            return not (self._draft_shown is not None and self._draft_shown.text)
        return not self._messages.ids

    def next_call(self, slots: Slots) -> Call | None:
        if self._state is _State.FINISHING:
            assert self._target is not None
            call = self._messages.next_call(self._target, final=True)
            if call is None:
                self._complete(self._messages.ids[: len(self._target)])
            elif self._nothing_shown():  # the user's first text, and the whole of it
                call.priority = Priority.OPENING
            return call
        if self._empty_draft_pending and slots.draft_ok:
            method = self._draft_method(RenderedText(""))
            return Call(method, True, "empty_draft", priority=Priority.FRAME)
        if self._dirty and not self._empty_draft_pending and slots.now >= self._frame_slot(slots):
            call = self._frame_call()
            if call is not None:
                return call
        now = slots.now
        if self._typing_at is not None and not self._messages.ids and self._typing_at <= now:
            method = typing_call(self.chat_id, self.thread_id, self._messages.business)
            return Call(method, False, "typing", priority=Priority.FRAME)
        shown = self._draft_shown
        if (
            self.uses_draft
            and self._draft_at is not None
            and shown is not None
            and now >= self._draft_at + self._outbox.draft_keepalive
            and now >= slots.draft_frame
        ):  # drafts vanish after 30 s without an update
            method = self._draft_method(shown)
            return Call(method, True, "draft", payload=shown, priority=Priority.FRAME)
        return None

    def preview_call(self) -> Call | None:
        """The whole final text as a last draft, while the final message waits for a bot-wide
        slot: drafts are not in Telegram's 30 messages a second, so in a burst the user reads
        the complete answer at once and the message that keeps it follows in its turn. Only
        for a one-part final not shown yet (a split answer's parts are messages)."""
        target = self._target
        if (
            self._state is not _State.FINISHING
            or not self.uses_draft
            or target is None
            or len(target) != 1
            or self._messages.ids
            or target[0] == self._draft_shown
            or not target[0].text
        ):
            return None
        method = self._draft_method(target[0])
        return Call(method, True, "draft", payload=target[0], priority=Priority.FINAL)

    # -- internals ----------------------------------------------------------------------------
    def _parts_now(self) -> list[RenderedText]:
        source = self._source
        if source is not self._render_key:
            self._render_key = source
            if source is None:
                self._parts = []
            else:
                rendered = (
                    render_markdown(source, partial=True, cache=self._blocks)
                    if isinstance(source, str)
                    else source
                )
                self._parts = split_rendered(rendered, self._outbox.text_limit)
        return self._parts

    def _frame_call(self) -> Call | None:
        parts = self._parts_now()
        priority = Priority.FIRST if self._nothing_shown() else Priority.FRAME
        if not self.uses_draft:
            call = self._messages.next_call(parts, final=False)
            if call is not None:
                call.priority = priority
        elif parts and parts[-1] != self._draft_shown:
            method = self._draft_method(parts[-1])
            call = Call(method, True, "draft", payload=parts[-1], priority=priority)
        else:
            call = None
        if call is None:
            self._dirty = False
        return call

    def _draft_method(self, part: RenderedText) -> ApiCall:
        args = (self.chat_id, self.draft_id, part, self.thread_id, self.can_stop)
        return draft_call(*args, self._messages.plain)  # plain: entities were refused

    def _complete(self, ids: list[int]) -> None:
        self._state = _State.DONE
        self._blocks, self._parts, self._source = {}, [], None  # free the answer's copies
        if self._future is not None and not self._future.done():
            self._future.set_result(ids)
