"""The suite's workers collect one after the first (tests/collecting.py): the first alone,
writing the bytecode cache, the others side by side once it is done."""

from __future__ import annotations

import json
import multiprocessing
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from tests import zygote
from tests.collecting import compiled_once, run_folder

pytestmark = pytest.mark.slow


def _collect(folder: Path, log: Path, rest: Any) -> None:
    with compiled_once(folder):
        entered = time.monotonic()
        first = not (folder / "collected").exists()
        if first:
            time.sleep(0.2)  # a collection under way
        else:  # the others are in here too
            rest.wait(30)
        left = time.monotonic()
    with log.open("a") as out:
        out.write(json.dumps([entered, left, first]) + "\n")


def _workers(
    folder: Path, log: Path, count: int, rest: int = 0
) -> list[tuple[float, float, bool]]:
    """`count` workers collecting; `rest`: how many of them must be in at once after the
    first (a barrier that breaks, failing them, if they come one at a time)."""
    context = multiprocessing.get_context("fork")
    barrier = context.Barrier(max(rest, 1))
    workers = [context.Process(target=_collect, args=(folder, log, barrier))
               for _ in range(count)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(60)
        assert worker.exitcode == 0
    return sorted(tuple(json.loads(line)) for line in log.read_text().splitlines())


def test_the_first_collects_alone_and_the_rest_together(tmp_path: Path) -> None:
    (first, *rest) = _workers(tmp_path, tmp_path / "log", 4, rest=3)
    assert first[2]
    assert not any(alone for _, _, alone in rest)
    assert all(first[1] <= entered for entered, _, _ in rest), (first, rest)


def test_a_late_worker_collects_at_once(tmp_path: Path) -> None:
    ((_, _, first),) = _workers(tmp_path, tmp_path / "log", 1)
    assert first
    assert (tmp_path / "collected").exists()
    ((_, _, alone),) = _workers(tmp_path, tmp_path / "late", 1)
    assert not alone, "the cache is written: a worker of the same run does not wait"


def test_only_a_worker_of_a_run_with_a_zygote_waits(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The folder is the zygote's, for an xdist worker; None (collect at once) for the
    controlling process, a run in one process, or FMBOT_TEST_ZYGOTE=0."""
    worker, controller = SimpleNamespace(workerinput={}), SimpleNamespace()
    monkeypatch.setenv(zygote.ENV, str(tmp_path / "zygote.sock"))
    assert run_folder(worker) == tmp_path  # type: ignore[arg-type]
    assert run_folder(controller) is None  # type: ignore[arg-type]
    monkeypatch.setenv(zygote.ENV, "0")
    assert run_folder(worker) is None  # type: ignore[arg-type]
    monkeypatch.delenv(zygote.ENV)
    assert run_folder(worker) is None  # type: ignore[arg-type]
