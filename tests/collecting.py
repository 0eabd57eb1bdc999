"""The suite's workers collect one after the first: see `compiled_once`."""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests import zygote


def run_folder(config: pytest.Config) -> Path | None:
    """The folder an xdist worker shares with the others of its run: its zygote's."""
    socket_path = zygote.serving()
    if not hasattr(config, "workerinput") or socket_path is None:
        return None
    return Path(socket_path).parent


@contextlib.contextmanager
def compiled_once(folder: Path | None) -> Iterator[None]:
    """One worker collects first, alone; the others wait for it, then collect side by side.

    A fresh clone has no bytecode: pytest rewrites and compiles each test module's asserts on
    import and caches the result in __pycache__. Seven workers collecting at once each did all
    of it (about 27 CPU-seconds more than with the cache, 17 s of wall time on two cores); now
    the first writes the cache and the rest read it. A worker that dies while collecting
    releases its lock, and the next compiles for itself. `folder`: shared by the run's
    workers (None: collect at once)."""
    if folder is None:
        yield
        return
    done = folder / "collected"
    fd = os.open(folder / "collecting.lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:  # the first is collecting: wait for it to end
            fcntl.flock(fd, fcntl.LOCK_SH)
            fcntl.flock(fd, fcntl.LOCK_UN)
            yield
            return
        if done.exists():
            fcntl.flock(fd, fcntl.LOCK_UN)
            yield
            return
        try:
            yield
        finally:
            done.touch()
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)
