"""What the Bot API's answers change in one streamed answer (its state, streamstate.py).

A draft refused turns the stream into edits; entities refused, into plain text; a chat gone
stops the stream; a final delivery that fails for any other reason fails the caller's wait,
while a frame that cannot be shown is dropped for the next one.
"""

from __future__ import annotations

import logging
from typing import Any

from bot.telegram.outbox.botapi import message_id_of
from bot.telegram.outbox.errors import ChatUnreachableError, Failure, OutboxError
from bot.telegram.outbox.jobs import Call
from bot.telegram.outbox.richfinal import RICH_TAGS
from bot.telegram.outbox.streamstate import Phase, StreamState
from bot.telegram.render import RenderedText

logger = logging.getLogger(__name__)


class StreamOutcomes:
    """What each call's success or failure does to the stream."""

    def __init__(self, state: StreamState) -> None:
        self.state = state

    def on_success(self, call: Call, result: Any, now: float) -> None:
        s = self.state
        tag = call.tag
        s.messages.succeeded(call, result)
        shows_text = tag in ("send", "edit", "draft", "rich_draft", *RICH_TAGS)
        if s.first_text_at is None and shows_text and call.payload:
            s.first_text_at = now
        if tag in RICH_TAGS:
            s.rich_shown = True
            if tag == "rich_send":
                s.messages.ids.append(message_id_of(result))
                s.messages.shown.append(call.payload or RenderedText(""))
        elif tag == "send":
            s.typing_at = None
            if s.on_shown is not None and s.phase is not Phase.FINISHING:
                s.on_shown(list(s.messages.ids))
        elif tag in ("draft", "empty_draft", "rich_draft"):
            s.empty_draft_pending = False
            s.draft_shown = call.payload or RenderedText("")
            s.draft_at = now if now - s.active_at < s.host.abandon_after else None
        elif tag == "typing" and now - s.active_at < s.host.abandon_after:
            s.typing_at = now + s.host.typing_interval
        elif tag == "typing":
            s.typing_at = None
        self._refresh_dirty()

    def on_failure(self, call: Call, failure: Failure, exc: BaseException, now: float) -> None:
        s = self.state
        tag = call.tag
        if failure is Failure.CHAT_GONE:
            logger.info("chat %s unreachable, stream stopped: %s", s.chat_id, exc)
            self._die(ChatUnreachableError(s.chat_id, str(exc)), exc)
        elif tag == "rich_edit" and failure is Failure.MESSAGE_GONE:
            s.messages.lost(0)  # the user deleted the streamed message: send it anew
        elif tag in RICH_TAGS:
            self._rich_refused(failure, exc)
        elif tag == "rich_draft":  # text drafts from now on; the final is tried as it comes
            logger.info("rich draft refused in chat %s (%s): text drafts", s.chat_id, exc)
            s.rich_frames = None
            s.dirty = s.source is not None
        elif tag in ("draft", "empty_draft") and failure is not Failure.BAD_ENTITIES:
            logger.info("drafts refused in chat %s (%s); streaming by edits", s.chat_id, exc)
            s.host.refuse_drafts(s.chat_id)
            s.uses_draft = False
            s.empty_draft_pending = False
            s.typing_at = now if not s.messages.ids else None
            s.dirty = s.source is not None
        elif tag == "typing":
            s.typing_at = now + s.host.typing_interval
        elif failure is Failure.MESSAGE_GONE and tag == "edit":
            s.messages.lost(call.index)
        elif failure is Failure.MESSAGE_GONE and tag.startswith("delete"):
            self.on_success(call, True, now)
        elif failure is Failure.BAD_ENTITIES and not s.messages.plain:
            logger.warning(
                "entities refused in chat %s, sending plain text: %s", s.chat_id, exc
            )
            s.messages.send_plain()
        elif s.phase is Phase.FINISHING:
            logger.error("final delivery to chat %s failed: %s", s.chat_id, exc)
            error = OutboxError(f"final delivery to chat {s.chat_id} failed: {exc}")
            error.__cause__ = exc
            s.abort(error)
            s.phase = Phase.DONE
        else:  # a frame that cannot be shown: wait for the next one instead of looping
            logger.warning("frame for chat %s dropped: %s", s.chat_id, exc)
            s.dirty = False

    def _rich_refused(self, failure: Failure, exc: BaseException) -> None:
        """The rich message could not be shown: the rendered text goes instead, in this
        stream (its messages are where the rich one would have been). The caller hears of a
        refusal (not of a 5xx that outlasted the retries, which says nothing of rich messages)
        and logs it."""
        s = self.state
        rich, s.rich = s.rich, None
        logger.info("rich message not shown in chat %s (%s): sending text", s.chat_id, exc)
        if rich is not None and failure is not Failure.TRANSIENT:
            rich.refused(str(exc))

    def _refresh_dirty(self) -> None:
        s = self.state
        if s.phase is not Phase.OPEN:
            return
        if s.source is not s.render_key:
            s.dirty = True
        elif s.uses_draft:
            s.dirty = bool(s.parts) and s.parts[-1] != s.draft_shown
        else:
            s.dirty = s.messages.next_call(s.parts, final=False) is not None

    def _die(self, error: ChatUnreachableError, cause: BaseException) -> None:
        s = self.state
        error.__cause__ = cause
        s.error = error
        s.abort(error)
