"""The cyclic garbage collector paused while the process starts.

A start builds some 250,000 objects that live as long as the process (aiogram's models and
their pydantic schemas, SQLAlchemy's mappings, the features' parts) and leaves few cycles.
While the heap grows that fast, the collector's thresholds keep firing full collections, each
a walk over everything built so far: four of them, about 0.5 of a start's 3.7 CPU-seconds
(bench/results.md, "the collector paused while a process starts"). The command line pauses
it for the start (`pause_collector`); `fmbot run` takes it back once the start's objects are
frozen out of its reach (bot/wiring/run.py), every other command before it runs, and a
failed start on its way out. A light module of its own: the command line imports it before
it knows which command runs. https://docs.python.org/3/library/gc.html#gc.disable
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

_held = False  # paused here, and not yet given back


@contextmanager
def pause_collector() -> Iterator[None]:
    """The collector paused for the block, unless something paused it already (then it is
    left as it is: a program that disabled it keeps it disabled)."""
    global _held
    if _held or not gc.isenabled():
        yield
        return
    gc.disable()
    _held = True
    try:
        yield
    finally:
        resume_collector()


def resume_collector() -> None:
    """The collector back, if `pause_collector` holds it (for the rest of the block)."""
    global _held
    if _held:
        _held = False
        gc.enable()
