"""The MCP tracker (mcp_tracker.py beside this file, built with the official SDK) as a process on
loopback, for the tool tests and the end-to-end test."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

TRACKER = Path(__file__).with_name("mcp_tracker.py")
REPO_ROOT = TRACKER.parents[3]


def start_tracker(
    port: int, token: str | None, *, within: float = 90.0, env: dict[str, str] | None = None
) -> subprocess.Popen[bytes]:
    """The tracker over Streamable HTTP on 127.0.0.1:port (API key `token`, None: no key),
    once it listens; `env` adds to its environment (TRACKER_SIGNING_SECRET...)."""
    args = [sys.executable, "-m", "tests.features.tools.mcp_tracker", "http", str(port)]
    args += [token] if token else []
    process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               env={**os.environ, **(env or {})}, cwd=REPO_ROOT)
    deadline = time.monotonic() + within  # a start-up deadline: generous, a busy machine is slow
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return process
        except OSError:
            if process.poll() is not None:
                raise RuntimeError("the MCP tracker exited") from None
            time.sleep(0.1)
    process.kill()
    raise RuntimeError(f"the MCP tracker did not listen within {within:g} s")


def stop_tracker(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(5)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def stdio_tracker(env: dict[str, str] | None = None) -> tuple[list[str], dict[str, str]]:
    """The stdio tracker's command and environment, for an `[mcp.*]` server that fmbot starts
    itself (the MCP SDK gives it `env` and a few variables of its own, not fmbot's): a fresh
    interpreter, from the repository's folder whatever the caller's."""
    command = [sys.executable, "-m", "tests.features.tools.mcp_tracker", "stdio"]
    return command, {"PYTHONPATH": str(REPO_ROOT), **(env or {})}
