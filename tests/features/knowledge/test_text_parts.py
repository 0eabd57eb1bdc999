"""Pure parts: stemming, follow-up detection, grounding and citations, vectors, eval scoring,
citation rendering for Telegram."""

from __future__ import annotations

import numpy as np
import pytest

from bot.features.knowledge.evaluation import Case, Outcome, score
from bot.features.knowledge.followup import is_follow_up, search_queries
from bot.features.knowledge.types import Hit, Source, label
from bot.features.knowledge.vectors import VectorIndex
from bot.grounding.prompt import (
    NOT_FOUND_MARKER,
    cited_numbers,
    for_stream,
    grounded_prompt,
    is_not_found,
    mark_cited,
)
from bot.reading.stemming import search_text, stems
from bot.telegram.render import render_markdown
from bot.telegram.render.citations import with_citations


def test_labels_do_not_repeat_the_title() -> None:
    expected = "Returns policy > Refund times"
    assert label("Returns policy", "Returns policy > Refund times") == expected
    assert label("Returns", "Cards") == "Returns > Cards"
    assert label("FAQ", "") == "FAQ"


def test_russian_and_english_words_meet_their_stems() -> None:
    assert stems("Возвраты товаров") == stems("возврат товара")
    assert stems("returning orders") == stems("returned order")
    assert stems("Ёлка") == stems("елка")
    assert "как" not in search_text("как вернуть")


def test_follow_ups_are_searched_with_the_previous_question() -> None:
    assert is_follow_up("and how long does it take?")
    assert is_follow_up("А сколько это стоит?")
    assert not is_follow_up("How long does standard delivery take to Hamburg for big parcels?")
    previous = ["How do I return an item?"]
    assert search_queries("and how long does it take?", previous) == [
        "and how long does it take?", "How do I return an item?\nand how long does it take?"
    ]
    long = "Which payment methods do you accept for orders shipped to Norway or Switzerland?"
    assert search_queries(long, previous) == [long]
    assert search_queries("and then?", []) == ["and then?"]


def hit(n: int, text: str = "Body.", url: str | None = None) -> Hit:
    return Hit(n, f"doc{n}.md", f"Title {n}", url, "Head", text, 0.9 - n / 10, 0.1)


def test_grounded_prompt_numbers_sources_within_the_budget() -> None:
    grounding = grounded_prompt("Be kind.", [hit(1), hit(2), hit(3, "long " * 2000)], 600)
    assert grounding.system_prompt.startswith("Be kind.\n\n")
    assert NOT_FOUND_MARKER in grounding.system_prompt
    assert "[1] Title 1 > Head\nBody." in grounding.system_prompt
    assert [s.number for s in grounding.sources] == [1, 2]  # the third does not fit


def test_citations_are_read_back_and_unknown_numbers_ignored() -> None:
    assert cited_numbers("A [2]. B [1, 3][9]. C [2]", 3) == [2, 1, 3]
    sources = (Source(1, "a", "A", None), Source(2, "b", "B", None))
    assert [s.cited for s in mark_cited(sources, "Yes [2] [5]")] == [False, True]
    assert is_not_found(f"Sorry. {NOT_FOUND_MARKER}")
    assert is_not_found("NO\\_ANSWER\\_IN\\_SOURCES")
    assert not is_not_found("Returns take 10 days [1].")


def test_streamed_frames_hide_citations_and_the_marker() -> None:
    assert for_stream("Returns take 10 days [1]. Refunds [2") == "Returns take 10 days. Refunds"
    assert for_stream("NO_ANSWER") == ""
    assert for_stream(NOT_FOUND_MARKER) == ""
    assert for_stream("Ten days [1, 2]") == "Ten days"


def test_citations_become_links_and_a_footer_of_cited_sources() -> None:
    sources = (
        Source(1, "returns.md", "Returns policy", "https://shop.example/returns", cited=True),
        Source(2, "refunds.md", "Refunds_and *more*", None, cited=True),
        Source(3, "other.md", "Other", "https://shop.example/other", cited=False),
    )
    text = with_citations("Ten days [1]. Card refunds [2][7].", sources, "Sources:")
    rendered = render_markdown(text)
    assert rendered.text == (
        "Ten days [1]. Card refunds [2].\n\nSources:\n[1] Returns policy\n[2] Refunds_and *more*"
    )
    links = [(e.type, e.url) for e in rendered.entities if e.type == "text_link"]
    assert links == [("text_link", "https://shop.example/returns")] * 2
    assert "Other" not in rendered.text  # given but not cited


def test_vector_index_finds_the_nearest_by_cosine() -> None:
    rows = [(10, np.array([1, 0, 0], np.float32).tobytes()),
            (11, np.array([0, 2, 0], np.float32).tobytes()),
            (12, np.array([1, 1, 0], np.float32).tobytes()),
            (13, np.array([1, 1], np.float32).tobytes())]  # another size: left out
    index = VectorIndex.from_rows(rows)
    query = np.array([0.0, 1.0, 0.0], np.float32)
    found = index.search(query, 2)
    assert [passage for passage, _ in found] == [11, 12]
    assert abs(found[0][1] - 1.0) < 1e-6
    assert abs(found[1][1] - 0.7071) < 1e-3
    assert len(index) == 3
    assert index.similarities(query, [13, 12]) == pytest.approx({12: 0.7071}, abs=1e-3)


def test_eval_scores_recall_mrr_abstention_and_the_best_threshold() -> None:
    outcomes = [
        Outcome(Case("q1", ("a",)), ("a", "b"), 0.8),
        Outcome(Case("q2", ("a",)), ("b", "c", "a"), 0.5),
        Outcome(Case("q3", ("a",)), ("b", "c", "d", "e", "f", "g"), 0.3),
        Outcome(Case("q4", expect_abstain=True), ("b",), 0.2),
        Outcome(Case("q5", expect_abstain=True), ("b",), 0.45),
    ]
    report = score(outcomes, 0.25)
    assert report.recall == {1: 1 / 3, 3: 2 / 3, 5: 2 / 3, 10: 2 / 3}
    assert abs(report.mrr - (1 + 1 / 3) / 3) < 1e-9
    assert (report.abstain_precision, report.abstain_recall) == (1.0, 0.5)
    assert report.best_f1 > report.abstain_f1
    assert 0.3 < report.best_min_score <= 0.5
