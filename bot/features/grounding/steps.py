"""The turn's grounding (bot.plugin.grounding) settled at the turn's fixed points: read back
first of the turn's parts, so that the features' own `settle` see the answer read back
against its sources, and the "not found" text shown last, once every feature has had its say
(strict file search may find it "not found" too).

Whoever found the sources (the knowledge base, strict file search) keeps them in the turn's
`Grounded` slot, which goes on to the result (`grounded_of(result)`)."""

from __future__ import annotations

from collections.abc import Callable

from bot.plugin.conversation import TurnFeature, TurnState, Verdict
from bot.plugin.grounding import Grounded
from bot.plugin.models import Snapshot
from bot.plugin.storage import PROMPT_STATUSES


class GroundingStep(TurnFeature):
    """First of the turn's parts: the finished answer read back against its sources (which
    it cites, whether it gave the "not found" marker)."""

    name = "grounding"

    async def settle(self, turn: TurnState, last: Snapshot | None, verdict: Verdict) -> None:
        turn.part(Grounded).read_back(verdict.text, verdict.status in PROMPT_STATUSES)


class NotFoundStep(TurnFeature):
    """Last of the turn's parts: a "not found" answer is shown, and stored, as the localized
    "not found" text with the deployment's next step (`next_step`: KB_NOT_FOUND_CONTACT when
    no desk offers its button, as the knowledge base offers it), so the history, the desk's
    card and its summary never see the model's marker; the answer's log line notes its
    grounding."""

    name = "not found"

    def __init__(self, next_step: str | Callable[[], str] = "") -> None:
        self._next_step = next_step

    @property
    def next_step(self) -> str:
        step = self._next_step
        return step if isinstance(step, str) else step()

    async def settle(self, turn: TurnState, last: Snapshot | None, verdict: Verdict) -> None:
        grounded = turn.part(Grounded)
        verdict.text = grounded.shown(verdict.text, turn.speaker.language, self.next_step)
        if note := grounded.note():
            verdict.notes.append(note)
        if grounded.not_found or grounded.abstained:
            turn.trace.tag("notfound")
        if (rules := fired(grounded)) or grounded.sources:
            turn.trace.add("grounding", {
                "rules": rules,
                "sources": [source.as_record() for source in grounded.sources],
            })


def fired(grounded: Grounded) -> list[str]:
    """The grounding's rules that decided this answer, as the trace names them."""
    rules = []
    if grounded.abstained:
        rules.append("strict \"not found\": nothing relevant found, no model call")
    elif grounded.not_found:
        rules.append("\"not found\": the answer said its sources do not cover it")
    if grounded.tools_only:
        rules.append("strict: only a tool's result may answer"
                     + (" (a tool was called)" if grounded.tool_called else " (none was)"))
    return rules
