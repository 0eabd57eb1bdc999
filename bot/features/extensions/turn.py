"""The App's context providers and `on_answer` hooks in a turn (the public extension API as
a `TurnFeature`).

Context providers' text goes into the turn's system prompt; the stored answer is told to the
`on_answer` hooks as an `AnswerEvent`.

The providers' text goes after the chat's system prompt, within a share of the prompt room
(`CONTEXT_SHARE`), counted with the same estimate the knowledge base's sources use; a fragment
that does not fit is left out and logged, the next ones may still fit. The stored answer
records which providers contributed (`messages.context_providers`).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from bot.features.extensions import AnswerEvent, ExtensionRunner, SourceInfo, ToolCallInfo
from bot.plugin.asker import Asker
from bot.plugin.conversation import (
    PromptContributor,
    PromptDraft,
    TurnFeature,
    TurnResult,
    TurnState,
    Verdict,
    language_code,
)
from bot.plugin.extending import answer_status
from bot.plugin.grounding import grounded_of
from bot.plugin.prompting import estimate_tokens
from bot.plugin.storage import MessageStatus, record_context

logger = logging.getLogger(__name__)

# Reads the calls an answer made (the tool loop's), in the answer's transaction.
CallsReader = Callable[[AsyncSession, TurnState], Awaitable[Sequence[ToolCallInfo]]]

# Of the prompt room, the share context providers may take (history gets the rest).
CONTEXT_SHARE = 0.25


@dataclass(slots=True)
class Told:
    """What the App's extensions took part in: the providers whose text went into the prompt
    (stored with the answer), the answer's tool calls (for the hooks' event)."""

    context_providers: tuple[str, ...] = ()
    calls: Sequence[ToolCallInfo] = ()


class AppContext:
    """The App's context providers as a prompt contributor: their text after the chat's
    system prompt, what fits in `CONTEXT_SHARE` of the room (counted, not estimated later)."""

    name = "context"
    required = False  # the runner already leaves a failing provider out

    def __init__(self, extras: ExtensionRunner, asker: Asker) -> None:
        self.extras = extras
        self.asker = asker

    async def contribute(self, turn: TurnState, draft: PromptDraft) -> None:
        ctx = await self.asker.context(turn, f"turn-{turn.answer_id}")
        fragments = await self.extras.context(ctx)
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
        turn.part(Told).context_providers = tuple(names)


# A turn waiting for a press on a tool's card is not answered yet: its hooks run when it is.
FINAL_FOR_HOOKS = frozenset(set(MessageStatus) - {MessageStatus.WAITING, MessageStatus.STREAMING})


def answer_event(
    turn: TurnState, result: TurnResult, calls: Sequence[ToolCallInfo] = ()
) -> AnswerEvent:
    return AnswerEvent(
        chat_id=turn.chat.chat_id,
        user_id=turn.speaker.user_id,
        language=language_code(turn.speaker.language),
        question=turn.question.text,
        answer=result.text,
        status=answer_status(result.status.value),
        message_id=result.message_id,
        sources=tuple(
            SourceInfo(title=s.title, path=s.path, url=s.url, cited=s.cited)
            for s in grounded_of(result).sources
        ),
        context_providers=turn.part(Told).context_providers,
        tool_calls=tuple(calls),
        is_admin=turn.speaker.is_admin,
    )


class ExtensionsFeature(TurnFeature):
    """The App's context providers (a prompt contributor) and its `on_answer` hooks (told
    each final answer, in tasks of their own). `tool_calls`: reads the calls an answer made,
    for the event when a hook listens (None: no tools); `asker`: who asks, as the providers
    see it."""

    name = "extensions"

    def __init__(
        self, extras: ExtensionRunner, *,
        tool_calls: CallsReader | None = None, asker: Asker | None = None,
    ) -> None:
        self.extras = extras
        self._tool_calls = tool_calls
        providers = (AppContext(extras, asker or Asker()),) if extras.providers else ()
        self._contributors = providers

    def contributors(self) -> Sequence[PromptContributor]:
        return self._contributors

    async def record(self, session: AsyncSession, turn: TurnState, verdict: Verdict) -> None:
        told = turn.part(Told)
        if told.context_providers:
            await record_context(session, turn.answer_id, told.context_providers)
        if (self._tool_calls is not None and self.extras.on_answer
                and verdict.status in FINAL_FOR_HOOKS):
            told.calls = await self._tool_calls(session, turn)

    def finished(self, turn: TurnState, result: TurnResult) -> None:
        if self.extras.on_answer and result.status in FINAL_FOR_HOOKS:
            self.extras.answered(answer_event(turn, result, turn.part(Told).calls))
