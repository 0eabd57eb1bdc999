"""fmbot uses aiogram, httpx, pydantic, aiosqlite and argparse through their public APIs only:
nothing in `bot/` imports a private name of theirs (`pydantic._internal`, `from x import _y`),
reads or sets a private attribute of their modules, classes or objects, or overrides one of
their private methods in a subclass.

Private names are the ones the libraries' own sources define with a leading underscore (methods,
class attributes and `self._x` attributes). An access `obj._x` counts when `_x` is one of them
and `bot/` defines no `_x` of its own (then the object is fmbot's); a name imported from a
library counts whatever it is.
"""

from __future__ import annotations

import ast
import importlib.util
from functools import cache
from pathlib import Path

import bot
from tests.architecture.sources import GROUP, tree

pytestmark = GROUP

PACKAGE = Path(bot.__file__).parent
LIBRARIES = ("aiogram", "httpx", "pydantic", "aiosqlite", "argparse")

# (module, expression): why there is no public way yet. Keep it empty; each entry is a bug to
# take upstream.
ALLOWED = {
    ("bot/testing/tester.py", "router._parent_router"):
        "aiogram attaches a router to one parent for life and has no public way to detach it; "
        "a test session reuses the App's routers in one dispatcher after another",
}


def _private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__") and name != "_"


def _sources(library: str) -> list[Path]:
    spec = importlib.util.find_spec(library)
    assert spec is not None, library
    assert spec.origin is not None, library
    origin = Path(spec.origin)
    return sorted(origin.parent.rglob("*.py")) if origin.name == "__init__.py" else [origin]


def _defined_private_names(paths: list[Path]) -> set[str]:
    """Private names these sources define: methods and functions, class attributes, and the
    attributes they set on `self` / `cls`."""
    found: set[str] = set()
    for path in paths:
        parsed = tree(path) if path.is_relative_to(PACKAGE) else ast.parse(
            path.read_text(encoding="utf-8"))
        for node in ast.walk(parsed):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                if _private(node.name):
                    found.add(node.name)
            elif (
                isinstance(node, ast.Attribute)
                and isinstance(node.ctx, ast.Store)
                and isinstance(node.value, ast.Name)
                and node.value.id in ("self", "cls")
                and _private(node.attr)
            ):
                found.add(node.attr)
            elif isinstance(node, ast.Assign | ast.AnnAssign):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                found.update(t.id for t in targets if isinstance(t, ast.Name) and _private(t.id))
    return found


@cache
def _library_private_names() -> frozenset[str]:
    names: set[str] = set()
    for library in LIBRARIES:
        names |= _defined_private_names(_sources(library))
    return frozenset(names)


def _bot_modules() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def _library_of(module: str) -> str | None:
    root = module.split(".")[0]
    return root if root in LIBRARIES else None


def _library_names(tree: ast.AST) -> set[str]:
    """The names a module binds to a library's modules or to what it imported from them."""
    bound: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if _library_of(alias.name):
                    bound.add(alias.asname or alias.name.split(".")[0])
        elif isinstance(node, ast.ImportFrom) and node.module and _library_of(node.module):
            bound.update(alias.asname or alias.name for alias in node.names)
    return bound


def _root_name(node: ast.expr) -> str | None:
    while isinstance(node, ast.Attribute):
        node = node.value
    return node.id if isinstance(node, ast.Name) else None


def _scan(where: str, tree: ast.AST, theirs: frozenset[str]) -> list[str]:
    """The private uses in one module; `theirs`: the libraries' private names that count."""
    library_names = _library_names(tree)
    found: list[str] = []

    def report(node: ast.AST, text: str, why: str) -> None:
        if (where, text) not in ALLOWED:
            found.append(f"{where}:{getattr(node, 'lineno', 0)}: {text} ({why})")

    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if _library_of(alias.name) and any(map(_private, alias.name.split("."))):
                    report(node, f"import {alias.name}", "a private module")
        elif isinstance(node, ast.ImportFrom) and node.module and _library_of(node.module):
            if any(map(_private, node.module.split("."))):
                report(node, f"from {node.module} import ...", "a private module")
            for alias in node.names:
                if _private(alias.name):
                    report(node, f"from {node.module} import {alias.name}", "a private name")
        elif isinstance(node, ast.Attribute) and _private(node.attr):
            text = ast.unparse(node)
            if _root_name(node.value) in library_names:
                report(node, text, "a private attribute of a library's module or class")
            elif node.attr in theirs:
                report(node, text, "a private attribute the library defines")
        elif isinstance(node, ast.ClassDef):
            if not any(_root_name(base) in library_names for base in node.bases):
                continue
            for item in node.body:
                if (
                    isinstance(item, ast.FunctionDef | ast.AsyncFunctionDef)
                    and item.name in _library_private_names()
                ):
                    report(item, f"{node.name}.{item.name}", "overrides a private method")
    return found


def _violations() -> list[str]:
    modules = {path: tree(path) for path in _bot_modules()}
    theirs = _library_private_names() - _defined_private_names(list(modules))
    found: list[str] = []
    for path, module in modules.items():
        found += _scan(f"bot/{path.relative_to(PACKAGE).as_posix()}", module, theirs)
    return found


def test_bot_uses_its_dependencies_through_their_public_apis() -> None:
    assert _violations() == []


def test_every_allowed_use_is_still_there() -> None:
    """An entry of ALLOWED whose use is gone goes too."""
    modules = {f"bot/{p.relative_to(PACKAGE).as_posix()}": p for p in _bot_modules()}
    for where, text in ALLOWED:
        assert any(
            isinstance(node, ast.Attribute) and ast.unparse(node) == text
            for node in ast.walk(tree(modules[where]))
        ), (where, text)


def test_the_scan_finds_what_it_looks_for() -> None:
    """The scanner itself: each kind of private use in a sample is found."""
    sample = ast.parse(
        "import argparse\n"
        "import pydantic._internal._model_construction\n"
        "import aiosqlite\n"
        "from aiogram.webhook.aiohttp_server import SimpleRequestHandler\n"
        "from httpx._transports.default import map_httpcore_exceptions\n"
        "from pydantic import _migration\n"
        "class Handler(SimpleRequestHandler):\n"
        "    async def _handle_request_background(self, bot, request): ...\n"
        "class Inline(aiosqlite.Connection):\n"
        "    async def _execute(self, fn): ...\n"
        "def f(parser, transport):\n"
        "    parser._actions\n"
        "    argparse._SubParsersAction\n"
        "    transport._pool = None\n"
    )
    found = "\n".join(_scan("sample.py", sample, _library_private_names()))
    for expected in (
        "import pydantic._internal._model_construction",
        "from httpx._transports.default import ...",
        "from pydantic import _migration",
        "Handler._handle_request_background",
        "Inline._execute",
        "parser._actions",
        "argparse._SubParsersAction",
        "transport._pool",
    ):
        assert expected in found, expected
