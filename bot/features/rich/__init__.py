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
"""

from __future__ import annotations

from bot.features.rich.answers import Refusals, RichAnswers, rich_message
from bot.features.rich.detect import needs_rich, shape_of

__all__ = ["Refusals", "RichAnswers", "needs_rich", "rich_message", "shape_of"]
