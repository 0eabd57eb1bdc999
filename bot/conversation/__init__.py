"""The conversation core (no aiogram).

One conversation turn: store the question, build the prompt, stream the answer, store it.

Two short units of work per turn from the service's own sessionmaker, and no transaction open
while the model streams (on SQLite a held write lock would stall every other chat):

1. upsert the chat, store the user message and a placeholder answer (status `streaming`), read
   the prompt window; commit. Nothing is lost if the process dies mid-answer, and
   the next start (or, with replicas, the chat's next holder) marks such leftover
   placeholders `failed` and answers them again (bot/telegram/backlog.py);
   `recover_interrupted()` does the marking alone, for a program that runs turns without
   the Telegram front.
2. after the stream: store the answer's text, final status and usage, the question's token
   count, and charge the speaker's daily usage; commit.

The turn is a pipeline, a module a step: `opening.py` (the first unit of work: settings,
window, placeholder), the prompt contributors (`contributors.py`: the `PromptContributor`
protocol), `running.py` (the prompt, the stream) and `finishing.py` (the second unit of work,
usage). Each feature that takes part in a turn (documents sent in chat, the knowledge base,
images, web search, tools, the App's extensions) is a `TurnFeature` (`features.py`) in its
own folder under `bot/features/`; the steps ask every feature at fixed points and name none.
`parts.py` holds what the steps share; `service.py` the use cases.

The tokenizer is called alongside the stream, not before it, so it never delays the first
token: this turn's prompt uses the conservative estimate for the new message (unless the
estimate is large enough to risk a needless cut; then the real count is awaited first), and
the real count is stored for later turns. Messages estimated at most `count_threshold` tokens
(64) are not sent to the tokenizer at all: their estimate is stored (see `estimate_tokens`).

Final status: FINAL -> complete; TRUNCATED_FINAL -> truncated; CONTENT_FILTER -> failed, with
`ContentFilteredError` in the result (the text the model sent instead stays stored for the
record, but a withheld exchange never goes back into prompts); a model error -> failed with the
partial text, the error in the result (not raised); cancellation -> cancelled with the partial
text, stored inside `asyncio.shield`, then CancelledError re-raised. Failed and cancelled
answers stay out of later prompts unless `include_failed_in_prompt`.

`retry_last` deletes the last answer and answers the same question again, so a conversation
never holds two answers to one question (Telegram still shows the old message).
`reset` closes the chat's conversation (kept for the record); the next turn opens a new one.
"""

from __future__ import annotations

from bot.conversation.options import TurnOptions
from bot.conversation.service import ConversationService
from bot.conversation.types import (
    RELINQUISHED,
    ChatRef,
    ContentFilteredError,
    Speaker,
    TurnResult,
    relinquished,
)
from bot.storage.repositories import PROMPT_STATUSES

__all__ = [
    "PROMPT_STATUSES",
    "RELINQUISHED",
    "ChatRef",
    "ContentFilteredError",
    "ConversationService",
    "Speaker",
    "TurnOptions",
    "TurnResult",
    "relinquished",
]
