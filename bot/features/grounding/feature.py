"""The grounding: on the feature list like any other (first, so that its reading back comes
before the others' parts), its "not found" step asked after every feature's own
(`ctx.turn(..., last=True)`), with the next step the knowledge base offers (`NotFoundNextStep`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.plugin.feature import Feature

if TYPE_CHECKING:
    from bot.plugin.context import FeatureContext


async def lifespan(ctx: FeatureContext) -> None:
    """The answer read back against its sources in every turn; "not found" asked last."""
    await ctx.core()
    from bot.features.grounding.steps import GroundingStep, NotFoundStep
    from bot.plugin.offers import NotFoundNextStep

    built, known = ctx.built, list[str]()

    def next_step() -> str:
        # Offered by a feature built after this one (the knowledge base's contact, when no
        # desk offers its "Ask a person" button): looked up once an answer needs it, when
        # every feature is built, and kept.
        if not known:
            found = built.find(NotFoundNextStep)
            known.append(found.text if found is not None else "")
        return known[0]

    ctx.turn(GroundingStep())
    ctx.turn(NotFoundStep(next_step), last=True)


FEATURE = Feature(name="grounding", lifespan=lifespan)
