"""A final answer Telegram renders itself: a rich message (Bot API 10.1), with today's rendered
text as its fallback.

``sendRichMessage`` (https://core.telegram.org/bots/api#sendrichmessage) posts it when the answer
shows no message yet (private chats stream as drafts); ``editMessageText`` with ``rich_message``
(https://core.telegram.org/bots/api#editmessagetext) turns the streamed message of a group into
it, and the messages a long streamed text rolled over into are deleted. What goes in the
``InputRichMessage`` is not the outbox's business: the caller (a feature, through the
Answerer's ``FinalForm`` hook) built it and is told when Telegram refuses it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bot.telegram.outbox.botapi import ApiCall, delete_call, new_message_params
from bot.telegram.outbox.jobs import Call
from bot.telegram.outbox.messages import ShownMessages
from bot.telegram.render import RenderedText


@dataclass(frozen=True, slots=True)
class RichFinal:
    """The final answer as a rich message: ``rich_message`` is an ``InputRichMessage`` as JSON
    (https://core.telegram.org/bots/api#inputrichmessage). ``refused(reason)`` is called once
    when Telegram refuses it for good (a 400, not a 429 or a 5xx): the rendered text goes out
    instead, in the same stream."""

    rich_message: dict[str, Any]
    refused: Callable[[str], None]


def rich_send_call(
    chat_id: int,
    rich: RichFinal,
    reply_to: int | None,
    thread_id: int | None,
    business: str | None = None,
) -> ApiCall:
    """`business`: the business connection of a chat of a connected account (the message is
    sent on the owner's behalf), or None."""
    params = new_message_params(chat_id, reply_to, thread_id, business)
    params["rich_message"] = rich.rich_message
    return ApiCall("sendRichMessage", params)


def rich_edit_call(
    chat_id: int, message_id: int, rich: RichFinal, business: str | None = None
) -> ApiCall:
    params: dict[str, Any] = {
        "chat_id": chat_id, "message_id": message_id, "rich_message": rich.rich_message
    }
    if business is not None:
        params["business_connection_id"] = business
    return ApiCall("editMessageText", params)


RICH_TAGS = ("rich_send", "rich_edit")
# Turns a frame's Markdown into an InputRichMessage (JSON), or None: a text draft shows it.
RichFrames = Callable[[str], dict[str, Any] | None]


def rich_draft_call(
    chat_id: int,
    draft_id: int,
    rich_message: dict[str, Any],
    thread_id: int | None,
    can_stop: bool,
) -> ApiCall:
    """https://core.telegram.org/bots/api#sendrichmessagedraft: a draft Telegram renders as a
    rich message (a table shows as a table while it streams); the same draft id as the text
    drafts, so the preview goes on where they were."""
    params: dict[str, Any] = {"chat_id": chat_id, "draft_id": draft_id,
                              "rich_message": rich_message}
    if thread_id is not None:
        params["message_thread_id"] = thread_id
    if can_stop:
        params["can_stop"] = True
        params["keep_on_stop"] = True
    return ApiCall("sendRichMessageDraft", params)


def next_rich_call(
    messages: ShownMessages, rich: RichFinal, *, shown: bool, preview: RenderedText | None
) -> Call | None:
    """The next call that brings the answer's messages to the one rich message (None: they
    show it). Messages left to delete go first (a part the user deleted), then the rich
    message (sent, or the streamed first message edited into it), then the messages after
    the first (a long streamed text's later parts). ``preview``: the plain first part, the
    call's payload (what the user's first text is, for the latencies)."""
    chat_id, business = messages.chat_id, messages.business
    if messages.stale:
        method = delete_call(chat_id, messages.stale[0], business)
        return Call(method, True, "delete_stale", index=messages.stale[0])
    if not shown:
        if not messages.ids:
            send = rich_send_call(chat_id, rich, messages.reply_to, messages.thread_id, business)
            return Call(send, True, "rich_send", 0, preview)
        edit = rich_edit_call(chat_id, messages.ids[0], rich, business)
        return Call(edit, True, "rich_edit", 0, preview)
    if len(messages.ids) > 1:
        last = len(messages.ids) - 1
        delete = delete_call(chat_id, messages.ids[last], business)
        return Call(delete, True, "delete_extra", index=last)
    return None
