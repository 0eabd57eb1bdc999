"""`RichAnswers`: the rich form of a finished answer, for the Answerer's `FinalForm` hook.

An answer whose Markdown needs it (detect.py) and fits a rich message's limits is given as an
`InputRichMessage` with the Markdown in its `markdown` field; every other answer is left to
the rendered text. When Telegram refuses a rich message in a chat, that is logged once and
remembered: the chat's answers go as text for `remember` seconds (an hour by default), so a
chat where Telegram does not take them (an older Bot API server, a chat type without them)
does not pay a refused call on every answer.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from bot.features.rich.detect import MAX_TEXT, for_telegram, shape_of
from bot.plugin.helpers import loop_time
from bot.plugin.telegram import RichFinal, is_clean, safe_markdown

log = logging.getLogger(__name__)

REMEMBER = 3600.0  # seconds a refusal is remembered
REMEMBERED_CHATS = 10_000  # refusals kept at most (oldest forgotten first)


class Refusals:
    """Chats where Telegram refused a rich message, each until its refusal expires."""

    def __init__(self, remember: float = REMEMBER, clock: Callable[[], float] = loop_time):
        self.remember = remember
        self.clock = clock
        self._until: OrderedDict[int, float] = OrderedDict()

    def refused(self, chat_id: int) -> bool:
        """Whether a refusal in this chat is still remembered (an expired one is forgotten)."""
        until = self._until.get(chat_id)
        if until is None:
            return False
        if self.clock() < until:
            return True
        del self._until[chat_id]
        return False

    def add(self, chat_id: int) -> None:
        self._until.pop(chat_id, None)
        self._until[chat_id] = self.clock() + self.remember
        while len(self._until) > REMEMBERED_CHATS:
            self._until.popitem(last=False)


class RichAnswers:
    """A `FinalForm` (bot/telegram/answer_parts.py): tables, headings, math and nested lists
    arrive as rich messages."""

    def __init__(self, refusals: Refusals | None = None) -> None:
        self.refusals = refusals or Refusals()

    def final(self, chat_id: int, markdown: str) -> RichFinal | None:
        if self.refusals.refused(chat_id):
            return None
        content = rich_message(markdown)
        if content is None:
            return None
        return RichFinal(content, lambda reason: self._refused(chat_id, reason))

    def frames(self, chat_id: int) -> Callable[[str], dict[str, Any] | None] | None:
        """The rich drafts of an answer in this chat (sendRichMessageDraft): a frame that
        needs a rich message shows as one while it streams."""
        if self.refusals.refused(chat_id):
            return None
        return rich_message

    def _refused(self, chat_id: int, reason: str) -> None:
        if self.refusals.refused(chat_id):  # another answer's refusal told already
            return
        self.refusals.add(chat_id)
        minutes = round(self.refusals.remember / 60)
        log.warning(
            "Telegram refused a rich message in chat %s (%s); its answers go as text for "
            "%d minutes", chat_id, reason, minutes,
        )


def rich_message(markdown: str) -> dict[str, Any] | None:
    """The `InputRichMessage` (JSON) showing this Markdown, or None: it needs no rich message
    or does not fit one."""
    shape = shape_of(markdown)
    if not shape.rich or not shape.fits:
        return None
    # Telegram renders this Markdown itself: the output policy's links only, no images
    # (bot/telegram/render/links.py); what the rewrite cannot clean goes as rendered text.
    cleaned = safe_markdown(markdown)
    if cleaned is None:
        return None
    source = for_telegram(cleaned)
    # Math spans are rewritten after the cleaning (`\[…\]` loses its escapes): what goes to
    # Telegram is judged again, as sent.
    if source != cleaned and not is_clean(source):
        return None
    if len(source) > MAX_TEXT:  # the source is longer than its text: a safe bound
        return None
    return {"markdown": source}
