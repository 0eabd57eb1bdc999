"""The CPU guard's rule (bench/cpu_guard.py): which verdicts are close enough to the bound to
be decided on more rounds."""

from __future__ import annotations

from bench.cpu_guard import CLOSE, PLAIN, Rounds, bound, within_guard


def rounds_at(*ratios: float) -> Rounds:
    """fmbot at ``ratios`` of a plain bot that costs 10 ms a turn in every round."""
    return Rounds({PLAIN: [10.0] * len(ratios), "fmbot": [10.0 * r for r in ratios]})


def test_a_median_near_the_bound_asks_for_more_rounds_either_side() -> None:
    limit = bound()
    assert rounds_at(limit * 0.99, limit * 1.01, limit).close_to_bound() == ["fmbot"]
    assert rounds_at(limit * (1 - CLOSE / 2), limit, limit * 0.9).close_to_bound() == ["fmbot"]
    assert rounds_at(limit * (1 + CLOSE / 2), limit * 1.2, limit).close_to_bound() == ["fmbot"]


def test_a_clear_verdict_is_not_measured_again() -> None:
    limit = bound()
    under = rounds_at(limit * 0.9, limit * 0.85, limit * 0.92)
    over = rounds_at(limit * 1.15, limit * 1.1, limit * 1.2)  # the 2 ms burner's margin
    assert under.close_to_bound() == []
    assert within_guard(under)
    assert over.close_to_bound() == []
    assert not within_guard(over)

