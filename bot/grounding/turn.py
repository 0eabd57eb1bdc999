"""A turn's grounding, kept in its own slot of the turn (`turn.part(Grounded)`) and handed on
with the turn's parts to its result, where the front ends read it (`grounded_of(result)`).

A feature that finds the sources an answer is to be grounded on (the knowledge base, strict
file search) sets them (`ground`), or abstains when strict mode found nothing (`abstain`).
Once the answer is finished it is read back against them (`read_back`: which sources it
cites, whether it gave the "not found" marker), and a "not found" answer is shown as the
localized "not found" text (`shown`). The grounding feature runs these steps, first and last
of the turn's parts (bot/features/grounding/steps.py); the core names neither.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

from bot.foundation_models.types import Snapshot
from bot.grounding.prompt import Grounding, is_not_found, mark_cited, not_found_text
from bot.grounding.sources import Source


@dataclass(slots=True)
class Grounded:
    """The sources the answer is to be grounded on, when a feature found them; once the
    answer is settled, the sources it was given (each `cited` when the answer cites it; empty
    when not grounded, or "not found") and whether it is the "not found" answer."""

    grounding: Grounding | None = None
    abstained: bool = False  # strict mode found nothing: answered "not found", no model call
    # Settled once the answer is finished. `sources`: the numbered sources given to the model
    # (or the ones a search tool's answer names); the answer's text keeps the raw [n]
    # citations. `not_found`: the sources did not cover the question (strict-mode
    # abstention, the model's marker, strict file search finding nothing): the answer's text
    # is then the localized "not found" text, as stored, and it shows no sources.
    sources: tuple[Source, ...] = ()
    not_found: bool = False
    # Strict mode found nothing, but the turn offers tools: only a tool's result may ground
    # the answer (`tools_only`), and whether a tool was called is noted as the answer streams.
    tools_only: bool = False
    tool_called: bool = False

    def ground(self, grounding: Grounding) -> None:
        self.grounding = grounding

    def abstain(self) -> None:
        self.abstained = True

    def abstain_unless_tools(self) -> None:
        """Nothing to ground the answer on but what a tool may return: "not found" unless a
        tool is called (and its answer is not the marker)."""
        self.tools_only = True

    def until_a_tool(self, snapshot: Snapshot) -> Snapshot:
        """A frame filter while only a tool's result may ground the answer (`tools_only`):
        nothing is shown until a tool is called, so an answer the model wrote from general
        knowledge never flashes by before the "not found" text replaces it."""
        if not self.tools_only or self.tool_called:
            return snapshot
        return dataclasses.replace(snapshot, text="")

    def read_back(self, text: str, final: bool) -> None:
        """Read the finished answer back against its sources (`final`: an answer that ended
        as the model meant it, not cut by an error or a stop)."""
        if self.grounding is not None:
            self.sources = mark_cited(self.grounding.sources, text)
            self.not_found = final and is_not_found(text)
        elif self.tools_only:  # no tool called: whatever the model said is not grounded
            self.not_found = final and (not self.tool_called or is_not_found(text))
        self.not_found = self.not_found or self.abstained

    def shown(self, text: str, language: str | None, next_step: str = "") -> str:
        """The answer's text as shown and stored: a "not found" answer's is the localized
        "not found" text with the deployment's next step (and it shows no sources)."""
        if not self.not_found:
            return text
        self.sources = ()
        return not_found_text(language, next_step)

    def note(self) -> str:
        """What the answer's log line says of its grounding ("" when not grounded)."""
        if self.not_found:
            return "not found"
        if self.grounding is not None:
            return f"grounded: {len(self.grounding.sources)} sources"
        return ""


class WithParts(Protocol):
    """A turn's result (or anything holding a turn's slots by their type)."""

    @property
    def parts(self) -> Mapping[type, object]: ...


def grounded_of(result: WithParts) -> Grounded:
    """The turn's grounding as settled, from its result's parts (an empty `Grounded` when
    the turn kept none)."""
    found = result.parts.get(Grounded)
    return found if isinstance(found, Grounded) else Grounded()
