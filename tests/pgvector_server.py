"""A PostgreSQL server with pgvector, started by the tests: the `pgserver` wheel's binaries.

The shared server on 127.0.0.1:5432 (Debian bookworm's PostgreSQL) has no pgvector, and
Debian ships none; the `pgserver` wheel (a dev extra) bundles PostgreSQL 16 with the
extension. Only its binaries are used, not its Python API: run as root, that adds a system
user with useradd and widens folder permissions. Here: initdb into a temporary folder, the
server listening on a Unix socket in it only (no TCP port to collide with other runs), owned
by `nobody` when the tests run as root (PostgreSQL refuses to run as root), stopped and
removed at the end. Tests using `pgvector_url` skip, with the reason, when it cannot start.
"""

from __future__ import annotations

import asyncio
import importlib.util
import os
import shutil
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.db import _execute_autocommit

UNPRIVILEGED = "nobody"
START_TIMEOUT = 30.0


def _binaries() -> Path:
    # Found, not imported: importing pgserver creates a runtime folder and a lock file.
    spec = importlib.util.find_spec("pgserver")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the pgserver wheel is not installed (pip install -e '.[dev]')")
    found = Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin"
    if not (found / "postgres").exists():
        raise RuntimeError(f"no PostgreSQL binaries in {found}")
    return found


def _run(command: list[str], user: str | None) -> None:
    done = subprocess.run(command, user=user, capture_output=True, text=True, timeout=60,
                          check=False)
    if done.returncode:
        raise RuntimeError(f"{Path(command[0]).name} failed: {done.stderr.strip()[-500:]}")


class PgvectorServer:
    def __init__(self) -> None:
        self.bin = _binaries()
        self.user = UNPRIVILEGED if os.geteuid() == 0 else None
        self.folder = Path(tempfile.mkdtemp(prefix="fmbot-pgvector-"))
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> str:
        data = self.folder / "data"
        if self.user:  # the folder must be the server's own, and reachable by it
            self.folder.chmod(0o755)
            shutil.chown(self.folder, self.user)
        _run([str(self.bin / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust",
              "-E", "UTF8", "--no-sync"], self.user)
        # The server keeps its own copy of the descriptor: ours is closed once it has started.
        with open(self.folder / "server.log", "wb") as log:
            self.process = subprocess.Popen(
                [str(self.bin / "postgres"), "-D", str(data), "-k", str(self.folder),
                 "-c", "listen_addresses=", "-c", "fsync=off", "-c", "max_connections=40"],
                user=self.user, stdout=log, stderr=subprocess.STDOUT,
            )
        url = f"postgresql+asyncpg://postgres@/postgres?host={self.folder}"
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            try:
                asyncio.run(_execute_autocommit(url, "SELECT 1"))
                return url
            except Exception as exc:  # not up yet: retried until the deadline
                if self.process.poll() is not None or time.monotonic() > deadline:
                    tail = (self.folder / "server.log").read_text(errors="replace")[-800:]
                    raise RuntimeError(f"the server did not start ({exc}): {tail}") from None
                time.sleep(0.1)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()  # smart shutdown; fsync is off, nothing to keep
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        shutil.rmtree(self.folder, ignore_errors=True)


@pytest.fixture(scope="session")
def pgvector_server() -> Iterator[str]:
    """The server's `postgres` database URL (superuser; pgvector available, not created)."""
    try:
        server = PgvectorServer()
    except RuntimeError as exc:
        pytest.skip(f"no PostgreSQL with pgvector: {exc}")
    try:
        try:
            url = server.start()
        except (RuntimeError, OSError, subprocess.SubprocessError) as exc:
            pytest.skip(f"PostgreSQL with pgvector (pgserver) could not start: {exc}")
        yield url
    finally:
        server.stop()


@pytest.fixture
def pgvector_url(pgvector_server: str) -> Iterator[str]:
    """A new, empty database on that server (not migrated), dropped after the test."""
    name = f"fmbot_{uuid.uuid4().hex[:8]}"
    asyncio.run(_execute_autocommit(pgvector_server, f'CREATE DATABASE "{name}"'))
    yield pgvector_server.replace("/postgres?", f"/{name}?")
    asyncio.run(_execute_autocommit(pgvector_server,
                                    f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
