"""Which Bot API call one streamed answer makes next, and when: the lane's side of a stream.

A frame goes when its slot comes (drafts in the chat's draft budget, edits and rolled-over
messages in its message budget, keeping a reserve for the final); "Thinking…" (an empty draft),
typing and keepalive drafts fill the wait; once finishing, the final's parts go as messages,
a one-part final shown first as a draft while it waits for a bot-wide slot. It reads the
stream's state (streamstate.py) and changes it only where choosing a call settles something
(nothing more to show, the final delivered); what the Bot API answers is handled in
streamoutcomes.py; the caller's side is StreamHandle (stream.py).
"""

from __future__ import annotations

from bot.telegram.outbox.botapi import ApiCall, draft_call, typing_call
from bot.telegram.outbox.budget import Priority
from bot.telegram.outbox.jobs import Call, Slots
from bot.telegram.outbox.richfinal import next_rich_call, rich_draft_call
from bot.telegram.outbox.streamstate import Phase, StreamState
from bot.telegram.render import RenderedText


class StreamCalls:
    """The calls the lane makes for one streamed answer."""

    def __init__(self, state: StreamState) -> None:
        self.state = state

    def ready_at(self, slots: Slots) -> float | None:
        s = self.state
        if s.phase is Phase.FINISHING:
            return slots.message
        if not s.streaming:
            return None
        if s.empty_draft_pending:
            return slots.draft
        times = []
        if s.dirty:
            times.append(self._frame_slot(slots))
        if s.typing_at is not None and not s.messages.ids:
            times.append(max(slots.gate, s.typing_at))
        if s.uses_draft and s.draft_at is not None and s.draft_shown is not None:
            base = slots.draft_frame
            times.append(max(base, s.draft_at + s.host.draft_keepalive))
        return min(times) if times else None

    def update_grace(self, slots: Slots) -> float:
        """A pending draft frame waits for the next update after its slot (with a newer text
        than the slot's moment would show), ``frame_grace`` longer at most; anything else
        (typing, keepalives, "Thinking…", finals, edit-mode frames) is on time."""
        s = self.state
        if (
            s.phase is Phase.OPEN
            and s.uses_draft
            and s.dirty
            and not s.empty_draft_pending
        ):
            return s.host.frame_grace
        return 0.0

    def _frame_slot(self, slots: Slots) -> float:
        """Drafts spend the chat's draft budget; after the first text they keep its reserve
        (for the final's preview). In edit mode the first text a user sees may
        spend the lane's reserve, like the final message (it is what makes the bot feel fast);
        frames after it keep the reserve."""
        s = self.state
        if s.uses_draft:
            return slots.draft if s.nothing_shown() else slots.draft_frame
        return slots.message if not s.messages.ids else slots.frame

    def next_call(self, slots: Slots) -> Call | None:
        s = self.state
        if s.phase is Phase.FINISHING:
            assert s.target is not None
            if s.rich is not None:
                preview = s.target[0] if s.target else None
                call = next_rich_call(
                    s.messages, s.rich, shown=s.rich_shown, preview=preview
                )
                parts = 1
            else:
                call = s.messages.next_call(s.target, final=True)
                parts = len(s.target)
            if call is None:
                s.complete(s.messages.ids[:parts])
            elif s.nothing_shown():  # the user's first text, and the whole of it
                call.priority = Priority.OPENING
            return call
        if s.empty_draft_pending and slots.draft_ok:
            method = self._draft_method(RenderedText(""))
            return Call(method, True, "empty_draft", priority=Priority.FRAME)
        if s.dirty and not s.empty_draft_pending and slots.now >= self._frame_slot(slots):
            call = self._frame_call()
            if call is not None:
                return call
        now = slots.now
        if s.typing_at is not None and not s.messages.ids and s.typing_at <= now:
            method = typing_call(s.chat_id, s.thread_id, s.messages.business)
            return Call(method, False, "typing", priority=Priority.FRAME)
        shown = s.draft_shown
        if (
            s.uses_draft
            and s.draft_at is not None
            and shown is not None
            and now >= s.draft_at + s.host.draft_keepalive
            and now >= slots.draft_frame
        ):  # drafts vanish after 30 s without an update
            return self._draft_call(shown, Priority.FRAME)
        return None

    def preview_call(self) -> Call | None:
        """The whole final text as a last draft, while the final message waits for a bot-wide
        slot: drafts are not in Telegram's 30 messages a second, so in a burst the user reads
        the complete answer at once and the message that keeps it follows in its turn. Only
        for a one-part final not shown yet (a split answer's parts are messages)."""
        s = self.state
        target = s.target
        if (
            s.phase is not Phase.FINISHING
            or not s.uses_draft
            or target is None
            or len(target) != 1
            or s.messages.ids
            or target[0] == s.draft_shown
            or not target[0].text
            or s.rich is not None  # a rich final: its drafts stay rich, not a text preview
        ):
            return None
        method = self._draft_method(target[0])
        return Call(method, True, "draft", payload=target[0], priority=Priority.FINAL)

    # -- internals ----------------------------------------------------------------------------
    def _frame_call(self) -> Call | None:
        s = self.state
        parts = s.parts_now()
        priority = Priority.FIRST if s.nothing_shown() else Priority.FRAME
        if not s.uses_draft:
            call = s.messages.next_call(parts, final=False)
            if call is not None:
                call.priority = priority
        elif parts and parts[-1] != s.draft_shown:
            call = self._draft_call(parts[-1], priority)
        else:
            call = None
        if call is None:
            s.dirty = False
        return call

    def _draft_call(self, part: RenderedText, priority: Priority) -> Call:
        """A draft of the latest frame: a rich draft when the frame needs one (a table, a
        heading...) and the caller gave ``rich_frames``, else a text draft of ``part``."""
        s = self.state
        source = s.source
        if s.rich_frames is not None and isinstance(source, str) and part.text:
            rich = s.rich_frames(source)
            if rich is not None:
                method = rich_draft_call(
                    s.chat_id, s.draft_id, rich, s.thread_id, s.can_stop
                )
                return Call(method, True, "rich_draft", payload=part, priority=priority)
        return Call(self._draft_method(part), True, "draft", payload=part, priority=priority)

    def _draft_method(self, part: RenderedText) -> ApiCall:
        s = self.state
        args = (s.chat_id, s.draft_id, part, s.thread_id, s.can_stop)
        return draft_call(*args, s.messages.plain)  # plain: entities were refused

