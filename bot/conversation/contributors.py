"""What contributes to a turn's prompt: the `PromptContributor` protocol, the draft the
contributors fill in, and the step that asks them in order.

A turn's prompt is the chat's system prompt, the history that fits, and the question. Each
feature that puts more in front of the model (the App's context providers, documents sent in
chat, the knowledge base's sources, images) is one contributor: it reads the turn and adds to
the `PromptDraft` (a section of the system prompt, images on the question, a filter on the
streamed frames), or answers the turn itself without a model call (`answer`). A new feature
(web search sources, voice) adds a contributor instead of a branch in the service.

Contributors run one after the other, in the service's order, between the two units of work
(no transaction is open). One that raises is logged and left out, and the turn goes on
without it, unless it says it is `required` (the knowledge base in strict mode: an answer
without the sources is not allowed, so the turn fails).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from bot.conversation.turn import TurnState
from bot.foundation_models.types import Snapshot

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Section:
    """A part of the system prompt after the chat's own. `tokens`: what it costs in the
    prompt when the contributor counted it; None = estimate the whole system prompt."""

    source: str  # the contributor's name (to withdraw it, and for the logs)
    text: str
    tokens: int | None = None


@dataclass(slots=True)
class PromptDraft:
    """The prompt as the contributors leave it, before the history is fitted around it."""

    sections: list[Section] = field(default_factory=list)
    # A contributor's own material answers the question (a document sent in chat matched it):
    # contributors that search elsewhere may skip.
    covered: bool = False
    # The turn's answer, given without a model call (the knowledge base's strict "not found");
    # later contributors are not asked.
    answer: str | None = None
    # The turn's answer without a model call unless a feature runs the stream itself (the
    # tool loop, whose tools may still answer): the knowledge base's strict "not found" when
    # the deployment has tools. Later contributors are asked.
    abstain: str | None = None
    # Images for the question's message: earlier ones shown again, then its own.
    images_again: tuple[bytes, ...] = ()
    images_new: tuple[bytes, ...] = ()
    attach_images: bool = False
    # Applied to every streamed frame before the user sees it (not to the stored answer).
    frame_filters: list[Callable[[Snapshot], Snapshot]] = field(default_factory=list)

    def add(self, source: str, text: str, tokens: int | None = None) -> None:
        """A section of the system prompt, after those added so far; blank text is skipped."""
        if text.strip():
            self.sections.append(Section(source, text, tokens))

    def withdraw(self, source: str) -> None:
        """Take out what `source` added (a better contributor supersedes it)."""
        self.sections = [s for s in self.sections if s.source != source]

    def system_prompt(self, base: str) -> str:
        """The chat's system prompt followed by the sections, a blank line between."""
        if not self.sections:
            return base
        parts = [base, *(section.text for section in self.sections)]
        return "\n\n".join(part.strip() for part in parts if part.strip())

    def section_tokens(self) -> int | None:
        """The sections' counted tokens; None when one of them is to be estimated."""
        total = 0
        for section in self.sections:
            if section.tokens is None:
                return None
            total += section.tokens
        return total


@runtime_checkable
class PromptContributor(Protocol):
    """Something that adds to a turn's prompt (see the module docstring)."""

    @property
    def name(self) -> str:
        """Short and stable: it names the contributor's section and its failures in logs."""
        ...

    @property
    def required(self) -> bool:
        """True when its failure must fail the turn; otherwise the turn goes on without it."""
        ...

    async def contribute(self, turn: TurnState, draft: PromptDraft) -> None:
        """Read the turn, add to the draft. `turn.room` is the prompt's room in tokens: take
        a share of it, never all (the history and the question need the rest)."""
        ...


async def contribute_all(
    contributors: Sequence[PromptContributor], turn: TurnState
) -> PromptDraft:
    """Ask each contributor in order; a failure is logged and skipped unless `required`."""
    draft = PromptDraft()
    for contributor in contributors:
        if draft.answer is not None:
            break
        try:
            await contributor.contribute(turn, draft)
        except Exception:
            if contributor.required:
                raise
            draft.withdraw(contributor.name)  # nothing half-added stays
            logger.exception(
                "prompt contributor %s failed in chat %s; the turn goes on without it",
                contributor.name,
                turn.chat.chat_id,
            )
    return draft
