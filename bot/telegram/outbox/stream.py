"""One streamed answer: frames while it is generated, then a final delivery that is never dropped.

Private chats stream with ``sendMessageDraft`` (https://core.telegram.org/bots/api#sendmessagedraft:
an empty text shows "Thinking…", the draft is an ephemeral preview that must be persisted with a
real ``sendMessage``). Elsewhere, or when drafts are refused, the answer is one message that is
edited, rolled over into further messages past 4096 UTF-16 units. Frames are rendered only when
a call is about to be made, from the latest text (latest wins).
"""

from __future__ import annotations

import asyncio
import enum
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from bot.telegram.outbox.botapi import ApiCall, draft_call, typing_call
from bot.telegram.outbox.budget import Priority
from bot.telegram.outbox.errors import ChatUnreachableError, Failure, OutboxError
from bot.telegram.outbox.jobs import Call, Job, Slots
from bot.telegram.outbox.messages import ShownMessages
from bot.telegram.render import RenderedText, render_markdown, split_rendered
from bot.telegram.render.chunks import BlockCache

if TYPE_CHECKING:
    from bot.telegram.outbox.core import Outbox
    from bot.telegram.outbox.lane import Lane

logger = logging.getLogger(__name__)
Content = str | RenderedText


class _State(enum.Enum):
    OPEN = "open"
    FINISHING = "finishing"
    DONE = "done"


class StreamHandle(Job):
    """Handle of one streamed answer; create it with ``Outbox.stream``."""

    def __init__(
        self,
        outbox: Outbox,
        lane: Lane,
        *,
        draft_id: int,
        use_draft: bool,
        reply_to: int | None,
        thread_id: int | None,
        can_stop: bool,
        typing: bool,
        now: float,
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
        self._messages = ShownMessages(self.chat_id, reply_to, thread_id)
        self._target: list[RenderedText] | None = None
        self._future: asyncio.Future[list[int]] | None = None
        self._aborted: BaseException | None = None

    # -- public API ---------------------------------------------------------------------------
    @property
    def message_ids(self) -> list[int]:
        """Telegram ids of the messages this answer shows now (edit mode / after finish)."""
        return list(self._messages.ids)

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
            self._outbox._kick(self._lane)
        elif self._outbox.clock() >= self._lane.update_wakes_at:
            self._outbox._kick(self._lane)  # the frame's slot has come: it goes now

    async def finish(self, final: Content) -> list[int]:
        """Deliver the final text (split over several messages when long); its message ids.

        Raises ``ChatUnreachableError`` when the chat cannot receive it (e.g. bot blocked).
        """
        rendered = render_markdown(final, cache=self._blocks) if isinstance(final, str) else final
        return await self._deliver(split_rendered(rendered, self._outbox.text_limit))

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
        self._outbox._enqueue(self._lane, self)
        # Shielded: a cancelled caller must not cancel the delivery itself.
        return await asyncio.shield(self._future)

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
            method = typing_call(self.chat_id, self.thread_id)
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

    def on_success(self, call: Call, result: Any, now: float) -> None:
        tag = call.tag
        self._messages.succeeded(call, result)
        if self.first_text_at is None and tag in ("send", "edit", "draft") and call.payload:
            self.first_text_at = now
        if tag == "send":
            self._typing_at = None
            if self.on_shown is not None and self._state is not _State.FINISHING:
                self.on_shown(self.message_ids)
        elif tag in ("draft", "empty_draft"):
            self._empty_draft_pending = False
            self._draft_shown = call.payload or RenderedText("")
            self._draft_at = now if now - self._active_at < self._outbox.abandon_after else None
        elif tag == "typing" and now - self._active_at < self._outbox.abandon_after:
            self._typing_at = now + self._outbox.typing_interval
        elif tag == "typing":
            self._typing_at = None
        self._refresh_dirty()

    def on_failure(self, call: Call, failure: Failure, exc: BaseException, now: float) -> None:
        tag = call.tag
        if failure is Failure.CHAT_GONE:
            logger.info("chat %s unreachable, stream stopped: %s", self.chat_id, exc)
            self._die(ChatUnreachableError(self.chat_id, str(exc)), exc)
        elif tag in ("draft", "empty_draft") and failure is not Failure.BAD_ENTITIES:
            logger.info("drafts refused in chat %s (%s); streaming by edits", self.chat_id, exc)
            self._outbox._refuse_drafts(self.chat_id)
            self.uses_draft = False
            self._empty_draft_pending = False
            self._typing_at = now if not self._messages.ids else None
            self._dirty = self._source is not None
        elif tag == "typing":
            self._typing_at = now + self._outbox.typing_interval
        elif failure is Failure.MESSAGE_GONE and tag == "edit":
            self._messages.lost(call.index)
        elif failure is Failure.MESSAGE_GONE and tag.startswith("delete"):
            self.on_success(call, True, now)
        elif failure is Failure.BAD_ENTITIES and not self._messages.plain:
            logger.warning(
                "entities refused in chat %s, sending plain text: %s", self.chat_id, exc
            )
            self._messages.plain = True
        elif self._state is _State.FINISHING:
            logger.error("final delivery to chat %s failed: %s", self.chat_id, exc)
            error = OutboxError(f"final delivery to chat {self.chat_id} failed: {exc}")
            error.__cause__ = exc
            self.abort(error)
            self._state = _State.DONE
        else:  # a frame that cannot be shown: wait for the next one instead of looping
            logger.warning("frame for chat %s dropped: %s", self.chat_id, exc)
            self._dirty = False

    def abort(self, exc: BaseException) -> None:
        self._aborted = exc
        self._state = _State.DONE
        if self._future is not None and not self._future.done():
            self._future.set_exception(exc)

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

    def _refresh_dirty(self) -> None:
        if self._state is not _State.OPEN:
            return
        if self._source is not self._render_key:
            self._dirty = True
        elif self.uses_draft:
            self._dirty = bool(self._parts) and self._parts[-1] != self._draft_shown
        else:
            self._dirty = self._messages.next_call(self._parts, final=False) is not None

    def _draft_method(self, part: RenderedText) -> ApiCall:
        args = (self.chat_id, self.draft_id, part, self.thread_id, self.can_stop)
        return draft_call(*args, self._messages.plain)  # plain: entities were refused

    def _complete(self, ids: list[int]) -> None:
        self._state = _State.DONE
        self._blocks, self._parts, self._source = {}, [], None  # free the answer's copies
        if self._future is not None and not self._future.done():
            self._future.set_result(ids)

    def _die(self, error: ChatUnreachableError, cause: BaseException) -> None:
        error.__cause__ = cause
        self.error = error
        self.abort(error)
