"""What the Bot API's answers change in one streamed answer.

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
from bot.telegram.outbox.streamcalls import StreamCalls, _State
from bot.telegram.render import RenderedText

logger = logging.getLogger(__name__)


class StreamOutcomes(StreamCalls):
    """What each call's success or failure does to the stream."""

    def on_success(self, call: Call, result: Any, now: float) -> None:
        tag = call.tag
        self._messages.succeeded(call, result)
        shows_text = tag in ("send", "edit", "draft", "rich_draft", *RICH_TAGS)
        if self.first_text_at is None and shows_text and call.payload:
            self.first_text_at = now
        if tag in RICH_TAGS:
            self._rich_shown = True
            if tag == "rich_send":
                self._messages.ids.append(message_id_of(result))
                self._messages.shown.append(call.payload or RenderedText(""))
        elif tag == "send":
            self._typing_at = None
            if self.on_shown is not None and self._state is not _State.FINISHING:
                self.on_shown(self.message_ids)
        elif tag in ("draft", "empty_draft", "rich_draft"):
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
        elif tag == "rich_edit" and failure is Failure.MESSAGE_GONE:
            self._messages.lost(0)  # the user deleted the streamed message: send it anew
        elif tag in RICH_TAGS:
            self._rich_refused(failure, exc)
        elif tag == "rich_draft":  # text drafts from now on; the final is tried as it comes
            logger.info("rich draft refused in chat %s (%s): text drafts", self.chat_id, exc)
            self.rich_frames = None
            self._dirty = self._source is not None
        elif tag in ("draft", "empty_draft") and failure is not Failure.BAD_ENTITIES:
            logger.info("drafts refused in chat %s (%s); streaming by edits", self.chat_id, exc)
            self._outbox.refuse_drafts(self.chat_id)
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
            self._messages.send_plain()
        elif self._state is _State.FINISHING:
            logger.error("final delivery to chat %s failed: %s", self.chat_id, exc)
            error = OutboxError(f"final delivery to chat {self.chat_id} failed: {exc}")
            error.__cause__ = exc
            self.abort(error)
            self._state = _State.DONE
        else:  # a frame that cannot be shown: wait for the next one instead of looping
            logger.warning("frame for chat %s dropped: %s", self.chat_id, exc)
            self._dirty = False

    def _rich_refused(self, failure: Failure, exc: BaseException) -> None:
        """The rich message could not be shown: the rendered text goes instead, in this
        stream (its messages are where the rich one would have been). The caller hears of a
        refusal (not of a 5xx that outlasted the retries, which says nothing of rich messages)
        and logs it."""
        rich, self._rich = self._rich, None
        logger.info("rich message not shown in chat %s (%s): sending text", self.chat_id, exc)
        if rich is not None and failure is not Failure.TRANSIENT:
            rich.refused(str(exc))

    def abort(self, exc: BaseException) -> None:
        self._aborted = exc
        self._state = _State.DONE
        if self._future is not None and not self._future.done():
            self._future.set_exception(exc)

    def _refresh_dirty(self) -> None:
        if self._state is not _State.OPEN:
            return
        if self._source is not self._render_key:
            self._dirty = True
        elif self.uses_draft:
            self._dirty = bool(self._parts) and self._parts[-1] != self._draft_shown
        else:
            self._dirty = self._messages.next_call(self._parts, final=False) is not None

    def _die(self, error: ChatUnreachableError, cause: BaseException) -> None:
        error.__cause__ = cause
        self.error = error
        self.abort(error)
