"""A plugin developer's suite of 100 BotTester tests, run as they run it: wall and CPU.

    .venv/bin/python bench/bench_plugin_suite.py [--tests 100] [--real]

The suite is written to a temporary folder beside a copy of examples/mybot.py (the README's
App): a quarter each of a command, a question answered by the model with a tool call, a
question that meets the per-user rate limit and waits it out (61 s), and a question whose
first model call is refused with 429 "Retry-After: 2" and retried. It runs in a fresh
`python -m pytest -q` (one process, no xdist, as `pytest` in a new project runs), and the
figures printed are the run's wall time and the CPU time of pytest and everything it started.

``--real``: every tester on the real clock (FMBOT_TESTER_REAL_TIME=1, the kit's behaviour
before its virtual clock): the waits are then waited. ``--collector-on``: the suite's ini
sets ``fmbot_collect_paused = false`` (the plugin's behaviour before it paused the garbage
collector while collecting).
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

CONFTEST = '''
import pytest
import mybot

@pytest.fixture
def fmbot_app():
    return mybot.app
'''

KINDS = {
    "command": '''
async def test_command_{n}(bot_tester):
    reply = await bot_tester.user("Anna").says("/ping")
    assert reply.text == "pong"
''',
    "tool": '''
async def test_tool_{n}():
    model = ScriptedModel()
    model.when("A-{n}").call("order_status", order_id="A-{n}").answer("A-{n} has shipped.")
    async with BotTester(mybot.app, model=model) as tester:
        reply = await tester.user("Anna").says("Where is A-{n}?")
    assert reply.text == "A-{n} has shipped."
    assert [call.name for call in reply.tool_calls] == ["order_status"]
''',
    "rate limit": '''
async def test_rate_limit_{n}():
    async with BotTester(mybot.app, settings={{"RATE_LIMIT_PER_MINUTE": 1}}) as tester:
        anna = tester.user("Anna")
        assert "too fast" not in (await anna.says("hello")).text
        assert "too fast" in (await anna.says("hello")).text
        await tester.advance(61)
        assert "too fast" not in (await anna.says("hello")).text
''',
    "model backoff": '''
async def test_model_backoff_{n}():
    model = ServiceModel()
    async with BotTester(mybot.app, model=model) as tester:
        model.fail_next(429, retry_after=2)
        assert (await tester.user("Anna").says("Hello")).text == "Echo: Hello"
''',
}

HEADER = '''
import mybot
from bot.testing import BotTester, ScriptedModel, ServiceModel
'''


def write_suite(folder: Path, tests: int, collector_on: bool = False) -> None:
    shutil.copy(ROOT / "examples" / "mybot.py", folder / "mybot.py")
    (folder / "conftest.py").write_text(CONFTEST, encoding="utf-8")
    body = [HEADER]
    kinds = list(KINDS.values())
    for n in range(tests):
        body.append(kinds[n % len(kinds)].format(n=n))
    (folder / "test_plugin.py").write_text("".join(body), encoding="utf-8")
    paused = "fmbot_collect_paused = false\n" if collector_on else ""
    (folder / "pytest.ini").write_text(f"[pytest]\nasyncio_mode = auto\n{paused}",
                                       encoding="utf-8")


def run(folder: Path, real: bool) -> tuple[float, float, str]:
    env = {**os.environ, "FMBOT_TESTER_REAL_TIME": "1" if real else "0",
           "PYTHONPATH": os.pathsep.join([str(folder), str(ROOT)])}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                           "-p", "no:xdist", "test_plugin.py"], cwd=folder, env=env,
                          capture_output=True, text=True, check=False)
    wall = time.monotonic() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    last = (done.stdout.strip().splitlines() or ["(no output)"])[-1]
    if done.returncode != 0:
        sys.exit(f"the suite failed:\n{done.stdout[-4000:]}\n{done.stderr[-2000:]}")
    return wall, cpu, last


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tests", type=int, default=100)
    parser.add_argument("--real", action="store_true", help="the real clock")
    parser.add_argument("--collector-on", action="store_true",
                        help="the garbage collector left on while the suite collects")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="fmbot-plugin-suite-") as name:
        folder = Path(name)
        write_suite(folder, args.tests, args.collector_on)
        run(folder, args.real)  # bytecode compiled, the template database's first migration
        wall, cpu, last = run(folder, args.real)
    clock = "real clock" if args.real else "virtual clock"
    collector = ", the collector on while collecting" if args.collector_on else ""
    print(f"{args.tests} tests on the {clock}{collector}: {wall:.1f} s wall, {cpu:.1f} CPU-s "
          f"({last})")


if __name__ == "__main__":
    main()
