"""Context providers' text in a turn's system prompt, and the `on_answer` event.

The providers' text goes after the chat's system prompt, within a share of the prompt room
(`CONTEXT_SHARE`), counted with the same estimate the knowledge base's sources use; a fragment
that does not fit is left out and logged, the next ones may still fit. The stored answer
records which providers contributed (`messages.context_providers`).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from bot.conversation.contributors import PromptDraft
from bot.conversation.turn import TurnState
from bot.conversation.types import TurnResult
from bot.extensions import AnswerEvent, ExtensionRunner, SourceInfo, ToolCallInfo
from bot.prompting import estimate_tokens
from bot.storage.models import MessageStatus, ToolCall
from bot.tools.base import ToolContext

logger = logging.getLogger(__name__)

# Of the prompt room, the share context providers may take (history gets the rest).
CONTEXT_SHARE = 0.25


def language_of(code: str | None) -> str:
    """"ru-RU" -> "ru"; no code -> "en"."""
    return (code or "en").split("-")[0].lower() or "en"


def turn_context(turn: TurnState) -> ToolContext:
    """Who asks, for the providers: the same for every provider of one turn."""
    return ToolContext(
        user_id=turn.speaker.user_id,
        chat_id=turn.chat.chat_id,
        language=language_of(turn.speaker.language),
        idempotency_key=f"turn-{turn.answer_id}",
    )


class AppContext:
    """The App's context providers as a prompt contributor: their text after the chat's
    system prompt, what fits in `CONTEXT_SHARE` of the room (counted, not estimated later)."""

    name = "context"
    required = False  # the runner already leaves a failing provider out

    def __init__(self, extras: ExtensionRunner) -> None:
        self.extras = extras

    async def contribute(self, turn: TurnState, draft: PromptDraft) -> None:
        fragments = await self.extras.context(turn_context(turn))
        budget = int(CONTEXT_SHARE * turn.room)
        kept: list[str] = []
        names: list[str] = []
        used = 0
        for fragment in fragments:
            tokens = estimate_tokens(fragment.text) + 1  # the blank line between fragments
            if used + tokens > budget:
                logger.warning(
                    "context from %s left out of the prompt: %d tokens, %d of %d left",
                    fragment.provider,
                    tokens,
                    budget - used,
                    budget,
                )
                continue
            used += tokens
            kept.append(fragment.text)
            names.append(fragment.provider)
        draft.add(self.name, "\n\n".join(kept), used)
        turn.context_providers = tuple(names)


# A turn waiting for a press on a tool's card is not answered yet: its hooks run when it is.
FINAL_FOR_HOOKS = frozenset(set(MessageStatus) - {MessageStatus.WAITING, MessageStatus.STREAMING})


def answer_event(
    turn: TurnState, result: TurnResult, calls: Sequence[ToolCall] = ()
) -> AnswerEvent:
    return AnswerEvent(
        chat_id=turn.chat.chat_id,
        user_id=turn.speaker.user_id,
        language=language_of(turn.speaker.language),
        question=turn.question.text,
        answer=result.text,
        status=result.status.value,
        message_id=result.message_id,
        sources=tuple(
            SourceInfo(title=s.title, path=s.path, url=s.url, cited=s.cited)
            for s in result.sources
        ),
        context_providers=turn.context_providers,
        tool_calls=tuple(
            ToolCallInfo(
                name=call.name,
                arguments=dict(call.arguments),
                outcome=call.outcome or "",
                result=call.result or "",
            )
            for call in sorted(calls, key=lambda c: (c.round, c.position))
        ),
    )
