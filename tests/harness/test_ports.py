"""Free ports for servers a test starts later (tests/ports.py): never the same twice in a run,
whichever worker asks."""

from __future__ import annotations

import itertools

import pytest

from tests import ports


def test_one_process_never_hands_out_a_port_twice(monkeypatch: pytest.MonkeyPatch) -> None:
    """Half of a 400-port range: random picks alone would repeat one almost surely."""
    monkeypatch.setattr(ports, "LOW", 31_000)
    monkeypatch.setattr(ports, "HIGH", 31_400)
    monkeypatch.delenv("PYTEST_XDIST_WORKER", raising=False)
    picked = [ports.free_port() for _ in range(200)]
    assert len(set(picked)) == len(picked)


def test_the_workers_of_a_run_pick_from_shares_that_do_not_overlap(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PYTEST_XDIST_WORKER_COUNT", "7")
    shares = []
    for index in range(7):
        monkeypatch.setenv("PYTEST_XDIST_WORKER", f"gw{index}")
        shares.append(range(*ports._span()))
        assert all(port in shares[-1] for port in (ports.free_port() for _ in range(20)))
    assert all(ports.LOW <= share.start < share.stop <= ports.HIGH for share in shares)
    assert all(a.stop <= b.start for a, b in itertools.pairwise(shares))


def test_outside_xdist_the_whole_range(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PYTEST_XDIST_WORKER", raising=False)
    monkeypatch.delenv("PYTEST_XDIST_WORKER_COUNT", raising=False)
    assert ports._span() == (ports.LOW, ports.HIGH)
