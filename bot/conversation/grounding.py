"""The turn's grounding (bot/grounding) settled at the turn's fixed points: the two steps the
core puts first and last in its list of features (service.py), so that the features' own
`settle` see the answer read back against its sources, and the "not found" text replaces the
answer once every feature has had its say (strict file search may find it "not found" too).

The grounding is not a feature: whoever found the sources (the knowledge base, strict file
search) keeps them in the turn's `Grounded` slot, which goes on to the result
(`grounded_of(result)`)."""

from __future__ import annotations

from bot.conversation.features import TurnFeature, Verdict
from bot.conversation.turn import TurnState
from bot.foundation_models.types import Snapshot
from bot.grounding.turn import Grounded
from bot.storage.repositories import PROMPT_STATUSES


class GroundingStep(TurnFeature):
    """First of the features: the finished answer read back against its sources (which it
    cites, whether it gave the "not found" marker)."""

    name = "grounding"

    async def settle(self, turn: TurnState, last: Snapshot | None, verdict: Verdict) -> None:
        turn.part(Grounded).read_back(verdict.text, verdict.status in PROMPT_STATUSES)


class NotFoundStep(TurnFeature):
    """Last of the features: a "not found" answer is shown, and stored, as the localized
    "not found" text with the deployment's next step (`next_step`: KB_NOT_FOUND_CONTACT when
    no desk offers its button), so the history, the desk's card and its summary never see the
    model's marker; the answer's log line notes its grounding."""

    name = "not found"

    def __init__(self, next_step: str = "") -> None:
        self.next_step = next_step

    async def settle(self, turn: TurnState, last: Snapshot | None, verdict: Verdict) -> None:
        grounded = turn.part(Grounded)
        verdict.text = grounded.shown(verdict.text, turn.speaker.language, self.next_step)
        if note := grounded.note():
            verdict.notes.append(note)
