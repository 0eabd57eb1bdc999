"""The messages an answer shows, and the next call that brings them to a target text."""

from __future__ import annotations

from typing import Any

from bot.telegram.outbox.botapi import delete_call, edit_call, message_id_of, send_call
from bot.telegram.outbox.jobs import Call
from bot.telegram.render import RenderedText


class ShownMessages:
    """Telegram messages of one answer, in order, with the text each one shows."""

    def __init__(
        self,
        chat_id: int,
        reply_to: int | None,
        thread_id: int | None,
        business: str | None = None,
    ) -> None:
        """`business`: the business connection the messages go through (a chat of an account
        connected to the bot), or None."""
        self.chat_id = chat_id
        self.business = business
        self.reply_to = reply_to
        self.thread_id = thread_id
        self.plain = False  # Telegram refused our entities once: send text only from now on
        self.ids: list[int] = []
        self.shown: list[RenderedText] = []
        self.stale: list[int] = []  # messages to delete before anything else is sent

    def send_plain(self) -> None:
        """Telegram refused our entities: text only from now on."""
        self.plain = True

    def next_call(self, target: list[RenderedText], *, final: bool) -> Call | None:
        """The next call that brings the messages closer to ``target`` (None: they show it).

        Sends and edits go in order; a final also deletes messages the text no longer needs.
        """
        if self.stale:
            method = delete_call(self.chat_id, self.stale[0], self.business)
            return Call(method, True, "delete_stale", index=self.stale[0])
        for index, part in enumerate(target):
            if index >= len(self.ids):
                reply_to = self.reply_to if index == 0 else None
                send = send_call(self.chat_id, part, reply_to, self.thread_id, self.plain,
                                 self.business)
                return Call(send, True, "send", index, part)
            if self.shown[index] != part:
                edit = edit_call(self.chat_id, self.ids[index], part, self.plain, self.business)
                return Call(edit, True, "edit", index, part)
        if final and len(self.ids) > len(target):  # the text shrank: drop the last message
            last = len(self.ids) - 1
            delete = delete_call(self.chat_id, self.ids[last], self.business)
            return Call(delete, True, "delete_extra", index=last)
        return None

    def succeeded(self, call: Call, result: Any) -> None:
        if call.tag == "send":
            assert call.payload is not None
            self.ids.append(message_id_of(result))
            self.shown.append(call.payload)
        elif call.tag == "edit":
            assert call.payload is not None
            self.shown[call.index] = call.payload
        elif call.tag == "delete_stale":
            self.stale.remove(call.index)
        elif call.tag == "delete_extra":
            del self.ids[call.index]
            del self.shown[call.index]

    def lost(self, index: int) -> None:
        """Message ``index`` cannot be edited any more (the user deleted it): it and the later
        parts are sent again as new messages, after the later ones are deleted, so the order
        stays right."""
        self.stale.extend(self.ids[index + 1 :])
        del self.ids[index:]
        del self.shown[index:]
