"""The suite's zygote (tests/zygote.py) runs a process as the interpreter would: its argv,
streams, working directory, environment and exit status, and signals reach it."""

from __future__ import annotations

import importlib
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests import zygote

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def launcher() -> Iterator[list[str]]:
    """The launcher's command, on the run's zygote (an xdist run has one) or on a bare one of
    its own."""
    if zygote.serving() is not None:
        yield [sys.executable, "-S", "-I", zygote.LAUNCHER]
        return
    with tempfile.TemporaryDirectory(prefix="fmbot-zygote-") as folder:
        server = zygote.Zygote(folder, preload=False)
        os.environ[zygote.ENV] = server.path
        try:
            yield [sys.executable, "-S", "-I", zygote.LAUNCHER]
        finally:
            del os.environ[zygote.ENV]
            server.stop()


def test_a_command_gets_its_argv_streams_folder_and_environment(
    launcher: list[str], tmp_path: Path
) -> None:
    code = ("import os, sys; data = sys.stdin.read(); print(sys.argv, os.getcwd(), "
            "os.environ['ZYGOTE_PROBE'], data.upper()); print('to stderr', file=sys.stderr); "
            "sys.exit(3)")
    done = subprocess.run(
        [*launcher, "-u", "-c", code, "one", "two"], input="from stdin", capture_output=True,
        text=True, cwd=tmp_path, env={**os.environ, "ZYGOTE_PROBE": "probe"}, timeout=60,
    )
    assert done.returncode == 3
    assert done.stdout == f"['-c', 'one', 'two'] {tmp_path} probe FROM STDIN\n"
    assert done.stderr == "to stderr\n"


def test_a_module_runs_as_main_with_the_working_folder_first(
    launcher: list[str], tmp_path: Path
) -> None:
    (tmp_path / "probe_module.py").write_text(
        "import sys\nif __name__ == '__main__':\n    print(sys.argv[1:], sys.path[0])\n"
    )
    done = subprocess.run([*launcher, "-m", "probe_module", "x"], capture_output=True,
                          text=True, cwd=tmp_path, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout == f"['x'] {tmp_path}\n"


def test_an_uncaught_exception_is_printed_and_exits_1(launcher: list[str]) -> None:
    done = subprocess.run([*launcher, "-c", "raise ValueError('boom')"], capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 1
    assert "ValueError: boom" in done.stderr


def test_a_signal_reaches_the_child_and_its_death_is_the_callers(launcher: list[str]) -> None:
    code = ("import signal, sys, time\n"
            "signal.signal(signal.SIGTERM, lambda *_: sys.exit(7))\n"
            "print('ready', flush=True)\n"
            "time.sleep(60)\n")
    process = subprocess.Popen([*launcher, "-c", code], stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None
    assert process.stdout.readline() == "ready\n"
    process.terminate()  # SIGTERM to the launcher, forwarded: the child's handler exits 7
    assert process.wait(60) == 7
    killed = subprocess.Popen([*launcher, "-c", "import os, signal; print('x', flush=True); "
                               "os.kill(os.getpid(), signal.SIGKILL)"], stdout=subprocess.PIPE)
    assert killed.wait(60) == -signal.SIGKILL


def test_a_killed_launcher_takes_its_child_with_it(launcher: list[str], tmp_path: Path) -> None:
    code = "import os, time; print(os.getpid(), flush=True); time.sleep(120)"
    process = subprocess.Popen([*launcher, "-c", code], stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None
    child = int(process.stdout.readline())
    process.kill()  # SIGKILL: nothing forwards it; the server sees the launcher hang up
    process.wait(60)
    assert _ends(child)


def test_a_launcher_leading_its_group_has_its_child_in_it(launcher: list[str]) -> None:
    """Started with `process_group=0`, the launcher and its child are one group: a SIGKILL to
    the group reaches both in the same call (tests/e2e's `BotProcess.kill`), where a SIGKILL
    to the launcher alone leaves the child running until the zygote notices."""
    code = "import os, time; print(os.getpid(), flush=True); time.sleep(120)"
    process = subprocess.Popen([*launcher, "-c", code], stdout=subprocess.PIPE, text=True,
                               process_group=0)
    assert process.stdout is not None
    child = int(process.stdout.readline())
    assert os.getpgid(child) == process.pid
    os.killpg(process.pid, signal.SIGKILL)
    assert process.wait(60) == -signal.SIGKILL
    assert _ends(child)


def test_a_launcher_in_a_session_of_its_own_still_runs_its_child(launcher: list[str]) -> None:
    """The MCP SDK starts a stdio server with `start_new_session=True`: a group of another
    session cannot be joined, so the child stays in the server's, and runs."""
    done = subprocess.run([*launcher, "-c", "print('ran')"], capture_output=True, text=True,
                          start_new_session=True, timeout=60)
    assert (done.returncode, done.stdout) == (0, "ran\n"), done.stderr


def test_the_cpu_of_each_child_goes_to_its_launchers_parent(tmp_path: Path) -> None:
    """With FMBOT_TEST_CPU_REPORT, the zygote adds each reaped child's CPU to the ledger of the
    process that launched it (tests/cpu_report.py reads its own)."""
    with tempfile.TemporaryDirectory(prefix="fmbot-zygote-") as folder:
        os.environ["FMBOT_TEST_CPU_REPORT"] = str(tmp_path / "report.tsv")
        try:
            server = zygote.Zygote(folder, preload=False)
        finally:
            del os.environ["FMBOT_TEST_CPU_REPORT"]
        try:
            burn = ("import time\nend = time.process_time() + 0.3\n"
                    "while time.process_time() < end: pass")
            subprocess.run(
                [sys.executable, "-S", "-I", zygote.LAUNCHER, "-c", burn],
                env={**os.environ, zygote.ENV: server.path}, timeout=60, check=True,
            )
        finally:
            server.stop()
        ledger = Path(zygote.ledger_path(folder, os.getpid())).read_text().split()
    assert len(ledger) == 1
    assert float(ledger[0]) >= 0.3


def test_launchers_killed_at_any_moment_leave_the_server_serving(launcher: list[str]) -> None:
    """A launcher killed while it asks, or before it has read its child's pid, is as if its
    process had been killed: the server goes on serving the others (it once died of the
    broken pipe, and every later test that started a process with it failed)."""
    for round_ in range(40):
        # Every other one leads its group: its child may find the group gone already.
        process = subprocess.Popen([*launcher, "-c", "import time; time.sleep(30)"],
                                   stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                   process_group=0 if round_ % 4 < 2 else None)
        time.sleep(0.0025 * round_)  # from before the request to well after the fork
        process.send_signal(signal.SIGKILL if round_ % 2 else signal.SIGTERM)
        process.wait(60)
    done = subprocess.run([*launcher, "-c", "print('still serving')"], capture_output=True,
                          text=True, timeout=60)
    assert (done.returncode, done.stdout) == (0, "still serving\n"), done.stderr


def _ends(pid: int) -> bool:
    """Whether `pid` ends (or is a zombie) within a hang guard of 60 s: not a speed, it ends
    as soon as the kernel next schedules it."""
    deadline = time.monotonic() + 60
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.01)
    return not _alive(pid)


def _alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


@pytest.mark.parametrize("name", sorted(zygote.PRELOAD))
def test_every_module_the_servers_preload_exists(name: str) -> None:
    """The zygote skips a preload that fails to import (an optional extra left out), so a
    renamed module (mcp 2's `mcp.server.fastmcp`) would silently cost every process its
    import again: each must still import (here, where the worker has it preloaded already
    or pays for it once)."""
    importlib.import_module(name)
