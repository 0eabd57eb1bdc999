"""What bot.testing asks of the features: the words its test models (bot/testing/wire.py) hash
into a fake embedding, the knowledge base's stems, so that a test model places texts close as
the knowledge base's search expects; the sources the knowledge base gave answers
(bot/testing/stored.py); the evaluation's cases, runner and stubs, for `BotTester.simulate`
(bot/testing/simulation.py). bot.testing names no feature."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from bot.features.evaluation.cases import Case, CaseFile, read_cases
from bot.features.evaluation.customer import Customer
from bot.features.evaluation.judge import Judge
from bot.features.evaluation.runner import BotTurn, Run, Runner
from bot.features.evaluation.stubs import Stubs

if TYPE_CHECKING:

    from sqlalchemy.ext.asyncio import AsyncSession


__all__ = ["BotTurn", "Case", "CaseFile", "Customer", "Judge", "Run", "Runner", "Stubs",
           "answer_sources", "embedding_words", "read_cases"]


def embedding_words(text: str) -> list[str]:
    """The Snowball stems of `text`'s words, stop words left out (the knowledge base's)."""
    from bot.reading.stemming import stems

    return stems(text)


async def answer_sources(session: AsyncSession, answer_ids: Sequence[int]) -> list[dict[str, Any]]:
    """The sources the knowledge base gave these answers, in the answers' order (its
    `kb_answers` rows: {"path", "title", "url", "cited", ...} each)."""
    from sqlalchemy import select

    from bot.features.knowledge.models import KbAnswer

    rows = await session.scalars(
        select(KbAnswer).where(KbAnswer.message_id.in_(answer_ids)).order_by(KbAnswer.message_id)
    )
    return [source for row in rows for source in row.sources or []]
