"""The FAQ-draft fixture (issue 26, item 6): 60 resolved conversations in Russian and English
with the entry a person would write from each, 10 repeats whose draft must be dropped as a
duplicate, 10 that should give none; the fake model's drafts scored, the dedup threshold tuned."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from bot.features.desk.insights.faq_eval import evaluate, format_eval, load_cases
from bot.features.desk.settings import DeskSettings
from bot.foundation_models.client import FoundationModelsClient
from bot.foundation_models.embedder import Embedder

FIXTURE = Path(__file__).parent / "fixture" / "faq_cases.jsonl"


def test_the_fixture_holds_what_the_issue_asks() -> None:
    cases = load_cases(FIXTURE)
    with_entries = [c for c in cases if c.expected]
    assert len(with_entries) >= 60
    assert {c.lines[-1][1][0].isascii() for c in with_entries} == {True, False}  # en and ru
    assert sum(1 for c in cases if not c.expected and not c.repeat) >= 10


@pytest.mark.slow
async def test_the_fake_models_drafts_are_scored_and_the_threshold_tuned(
    client: FoundationModelsClient,
) -> None:
    embedder = Embedder(client, doc_model="text-search-doc/latest",
                        query_model="text-search-query/latest", rps=10_000.0)

    async def embed(text: str) -> np.ndarray:
        return (await embedder.query(text)).values

    result = await evaluate(load_cases(FIXTURE), client, "yandexgpt/latest", embed)
    default = DeskSettings.model_fields["drafts_similarity"].default
    report = format_eval(result, current=default)
    print(report)
    assert result.none_with_drafts == 0
    assert result.precision >= 0.95
    assert result.recall >= 0.95
    best = result.best
    assert best.errors == 0, report
    assert best.value == default, "KB_DRAFTS_SIMILARITY's default is the tuned threshold"
