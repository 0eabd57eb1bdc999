"""Rich answers (Bot API 10.1 rich messages): an answer whose Markdown a plain message cannot
show (a table, a heading, math, a nested list) arrives as a rich message Telegram renders.

- `detect.py`: what an answer's Markdown holds (`needs_rich`, `shape_of`) and the limits of a
  rich message; `for_telegram` writes LaTeX's math delimiters as Telegram's dialect reads them.
- `answers.py` (`RichAnswers`): the Answerer's `FinalForm` hook (bot/telegram/answer_parts.py)
  built by the composition root with `RICH_MESSAGES=on`: the `InputRichMessage` of an answer
  that needs one, and the memory of the chats where Telegram refused one.

The outbox delivers it (bot/telegram/outbox/richfinal.py): `sendRichMessage` after a private
chat's drafts, `editMessageText` with `rich_message` for a group's streamed message, paced and
retried as every call; a refusal sends the rendered text instead, in the same stream.

The names below are imported on first use (PEP 562): the settings' section (settings.py),
which `from bot import Settings` loads, must not bring aiogram with it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.plugin.helpers import lazy_exports

_WHERE = {
    "Refusals": "bot.features.rich.answers",
    "RichAnswers": "bot.features.rich.answers",
    "rich_message": "bot.features.rich.answers",
    "needs_rich": "bot.features.rich.detect",
}

__getattr__, __dir__ = lazy_exports(__name__, _WHERE)

if TYPE_CHECKING:
    from bot.features.rich.answers import Refusals, RichAnswers, rich_message
    from bot.features.rich.detect import needs_rich

__all__ = ["Refusals", "RichAnswers", "needs_rich", "rich_message"]
