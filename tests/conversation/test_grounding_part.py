"""The turn's grounding as its own part: the `Grounded` slot read back and shown by the
grounding feature's first and last steps (bot/features/grounding), read off the result with
`grounded_of` (an empty one when the turn kept none)."""

from __future__ import annotations

from bot import App
from bot.conversation import TurnResult
from bot.features.grounding.steps import GroundingStep, NotFoundStep
from bot.grounding.prompt import NOT_FOUND_MARKER, NOT_FOUND_TEXT, Grounding
from bot.grounding.sources import Source
from bot.grounding.turn import Grounded, grounded_of
from bot.storage.models import MessageStatus
from bot.testing import BotTester

SOURCES = (Source(1, "shop/a.md", "A", None), Source(2, "shop/b.md", "B", None))


def result(**parts: object) -> TurnResult:
    return TurnResult(1, "text", MessageStatus.COMPLETE, None, False, None,
                      parts={type(part): part for part in parts.values()})


def test_a_result_without_the_slot_reads_as_not_grounded() -> None:
    grounded = grounded_of(result())
    assert (grounded.grounding, grounded.sources, grounded.not_found) == (None, (), False)


def test_the_slot_goes_on_to_the_result_as_it_was_settled() -> None:
    grounded = Grounded(Grounding("prompt", SOURCES))
    grounded.read_back("Yes [2].", final=True)
    assert grounded_of(result(grounded=grounded)) is grounded
    assert [s.cited for s in grounded.sources] == [False, True]
    assert not grounded.not_found
    assert grounded.shown("Yes [2].", "en") == "Yes [2]."
    assert grounded.note() == "grounded: 2 sources"


def test_the_marker_or_an_abstention_is_shown_as_not_found_with_the_next_step() -> None:
    marked = Grounded(Grounding("prompt", SOURCES))
    marked.read_back(NOT_FOUND_MARKER, final=True)
    assert marked.not_found
    shown = marked.shown(NOT_FOUND_MARKER, "en", "Write to help@example.com")
    assert shown.startswith(NOT_FOUND_TEXT["en"])
    assert "help@example.com" in shown
    assert marked.sources == ()
    assert marked.note() == "not found"
    cut = Grounded(Grounding("prompt", SOURCES))
    cut.read_back(NOT_FOUND_MARKER, final=False)  # an answer cut short is not "not found"
    assert not cut.not_found
    abstained = Grounded()
    abstained.abstain()
    abstained.read_back("", final=True)
    assert abstained.not_found
    assert abstained.note() == "not found"
    assert Grounded().note() == ""


async def test_the_grounding_is_a_feature_read_back_first_and_shown_last() -> None:
    """The core names no grounding: the feature list's first feature puts its reading back
    first of the turn's parts and its "not found" step after every feature's own
    (`ctx.turn(..., last=True)`), with the next step the knowledge base offers."""
    async with BotTester(App(env_file=None)) as tester:
        features = tester.built.core.conversation.features
    assert isinstance(features[0], GroundingStep)
    assert isinstance(features[-1], NotFoundStep)
    assert not any(isinstance(f, GroundingStep | NotFoundStep) for f in features[1:-1])
