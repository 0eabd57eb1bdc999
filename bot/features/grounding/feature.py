"""The grounding: on the feature list like any other (first, so that its reading back comes
before the others' parts), its "not found" step asked after every feature's own
(`CoreParts.last`), with the next step the knowledge base offers (`NotFoundNextStep`)."""

from __future__ import annotations

from bot.plugin.built import Built
from bot.plugin.feature import CoreParts, Feature
from bot.plugin.ground import Groundwork


async def _build(ground: Groundwork, built: Built) -> CoreParts:
    from bot.features.grounding.steps import GroundingStep, NotFoundStep
    from bot.plugin.offers import NotFoundNextStep

    known: list[str] = []

    def next_step() -> str:
        # Offered by a feature built after this one (the knowledge base's contact, when no
        # desk offers its "Ask a person" button): looked up once an answer needs it, when
        # every feature is built, and kept.
        if not known:
            found = built.find(NotFoundNextStep)
            known.append(found.text if found is not None else "")
        return known[0]

    return CoreParts(turn=[GroundingStep()], last=[NotFoundStep(next_step)])


FEATURE = Feature(name="grounding", build=_build)
