"""The HTTP fakes of fmbot's test infrastructure (tests/fakes) serve the test kit's fakes and
nothing else of fmbot: the fake Telegram's server and /_control API (tests/fakes/telegram)
import of `bot` only the kit's fake Telegram (bot/testing/telegram), the fake Foundation Models
server (tests/fakes/yandex) only the kit's fake service (bot/testing/yandex), and neither imports
the rest of tests/. The kit's fakes import nothing else of `bot` (import-linter's contracts in
pyproject.toml), so a bug in fmbot's code cannot hide behind the same bug in a fake, over
HTTP as in process. import-linter's root packages are bot and examples: this checks tests/fakes.

The other way round, the wheel holds no HTTP fake: nothing in bot/ imports tests/, and no
module of the kit (bot/testing) serves HTTP (aiohttp's `web`).
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

from tests.architecture.sources import BOT, GROUP, modules, tree
from tests.architecture.test_core_names_no_feature import imported

pytestmark = GROUP

FAKES = BOT.parent / "tests" / "fakes"
# Each fake's folder: what of `bot` it may import (the kit's fake it serves).
SERVES = {"telegram": "bot.testing.telegram", "yandex": "bot.testing.yandex"}
THIRD_PARTY = {"aiohttp"}


def within(name: str, package: str) -> bool:
    return name == package or name.startswith(package + ".")


def beyond_its_fake(path: Path, source: str) -> list[str]:
    """What `source` (the module at `path`, in tests/fakes/<fake>/) imports beyond the kit's
    fake it serves, its own package, aiohttp and the standard library."""
    fake = path.relative_to(FAKES).parts[0]
    allowed = (SERVES[fake], f"tests.fakes.{fake}")
    found = []
    for name in imported(path, ast.parse(source)):
        if any(within(name, package) for package in allowed):
            continue
        if name.split(".")[0] in {"__future__", *THIRD_PARTY, *sys.stdlib_module_names}:
            continue
        found.append(name)
    return found


def test_the_fakes_are_the_known_ones() -> None:
    folders = {path.name for path in FAKES.iterdir() if (path / "__init__.py").is_file()}
    assert folders == set(SERVES)
    assert imported(FAKES / "__init__.py", tree(FAKES / "__init__.py")) == []


def test_each_fake_imports_only_the_kit_fake_it_serves() -> None:
    found = {}
    for fake in SERVES:
        for path in sorted((FAKES / fake).rglob("*.py")):
            names = beyond_its_fake(path, path.read_text(encoding="utf-8"))
            if names:
                found[str(path.relative_to(BOT.parent))] = names
    assert found == {}


def test_the_check_sees_what_it_looks_for() -> None:
    """A check that cannot fail is a defect."""
    path = FAKES / "telegram" / "server.py"
    source = ("import json\nfrom aiohttp import web\nfrom bot.testing.telegram.users import X\n"
              "from tests.fakes.telegram.control import Y\nfrom bot.testing.tester import Z\n"
              "from bot.testing.yandex import service\nimport bot.config\n"
              "from tests.conftest import REPO_ROOT\nimport httpx\n")
    assert beyond_its_fake(path, source) == [
        "bot.testing.tester", "bot.testing.yandex", "bot.config", "tests.conftest", "httpx"]
    yandex = FAKES / "yandex" / "server.py"
    assert beyond_its_fake(yandex, "from bot.testing.telegram import wire\n") == [
        "bot.testing.telegram"]


def test_the_wheel_serves_no_http() -> None:
    """bot/ (the wheel) imports nothing of tests/, and the kit (bot/testing) no HTTP server."""
    found = {}
    for path in modules():
        names = imported(path, tree(path))
        wrong = [name for name in names if within(name, "tests")]
        if path.is_relative_to(BOT / "testing"):
            wrong += [name for name in names if within(name, "aiohttp.web")]
            wrong += ["aiohttp.web" for node in ast.walk(tree(path))
                      if isinstance(node, ast.ImportFrom) and node.module == "aiohttp"
                      and any(alias.name == "web" for alias in node.names)]
        if wrong:
            found[str(path.relative_to(BOT.parent))] = wrong
    assert found == {}
