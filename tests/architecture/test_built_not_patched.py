"""Objects are built, not patched: collaborators go to constructors, and nothing in `bot/` sets
an attribute of a built object from outside it. The composition root (bot/wiring/) is the one
place that builds, and `TelegramApp` only starts and stops what it is handed.

What may still be assigned from outside its object: a field of a record (an ORM row or a
mutable dataclass the code keeps as data, such as a turn's state or a report being filled in),
the state a package keeps in its own small objects (an outbox lane, a queue ticket: declared by
a class of the same module, or of the same package below bot/), and the few library settings
below, which the library offers no other way to give."""

from __future__ import annotations

import ast
import inspect
import textwrap
from dataclasses import dataclass
from pathlib import Path

import pytest

import bot
from bot.telegram.app import TelegramApp
from tests.architecture.sources import GROUP
from tests.architecture.sources import tree as parsed

pytestmark = GROUP

PACKAGE = Path(bot.__file__).parent  # bot/, named as bot/... below

VIRTUAL_CLOCK = ("asyncio has no way to give a running loop (the test's) another clock: the "
                 "tester's virtual clock stands in front of its methods, as looptime does")

# (module, assigned expression): why it cannot be a constructor argument.
LIBRARY_SETTINGS = {
    ("bot/telegram/shutdownwatch.py", "timer.daemon"):
        "threading.Timer takes no `daemon` argument; a daemon timer never keeps the process up",
    ("bot/storage/database.py", "dbapi_connection.isolation_level"):
        "sqlite3's connection, given by SQLAlchemy's connect event: autocommit off its driver",
    ("bot/foundation_models/pools.py", "response.stream"):
        "httpx hands the response back: wrapping its stream is how a pool hears it was read",
    ("bot/testing/tester.py", "router._parent_router"):
        "aiogram has no public way to detach a router, and a test session reuses the App's",
    ("bot/testing/clock.py", "loop.time"):
        VIRTUAL_CLOCK,
    ("bot/testing/clock.py", "selector.select"):
        VIRTUAL_CLOCK,
    ("bot/testing/clock.py", "loop.run_in_executor"):
        VIRTUAL_CLOCK,
    ("bot/testing/clock.py", "loop.create_future"):
        VIRTUAL_CLOCK,
    ("bot/testing/clock.py", "loop.subprocess_exec"):
        VIRTUAL_CLOCK,
    ("bot/testing/clock.py", "loop.subprocess_shell"):
        VIRTUAL_CLOCK,
}

# The composition root and the application that only starts and stops: no assignment to any
# attribute outside `self`, records included.
BUILDERS = ("bot/wiring/", "bot/telegram/app.py", "bot/telegram/dispatching.py")


@dataclass(frozen=True)
class Assignment:
    module: str
    line: int
    target: str

    def __str__(self) -> str:
        return f"{self.module}:{self.line}: {self.target} = ..."


def modules() -> list[tuple[str, ast.Module]]:
    return [
        ("bot/" + path.relative_to(PACKAGE).as_posix(), parsed(path))
        for path in sorted(PACKAGE.rglob("*.py"))
    ]


def _is_dataclass(node: ast.ClassDef) -> tuple[bool, bool]:
    """(a dataclass, a frozen one)."""
    for decorator in node.decorator_list:
        call = decorator if isinstance(decorator, ast.Call) else None
        name = ast.unparse(call.func if call is not None else decorator)
        if name.split(".")[-1] == "dataclass":
            frozen = call is not None and any(
                k.arg == "frozen" and isinstance(k.value, ast.Constant) and k.value.value
                for k in call.keywords
            )
            return True, frozen
    return False, False


def record_fields(trees: list[tuple[str, ast.Module]]) -> set[str]:
    """Fields of the records in bot/: mutable dataclasses and ORM models (Mapped columns)."""
    fields: set[str] = set()
    for _, tree in trees:
        for node in ast.walk(tree):
            if not isinstance(node, ast.ClassDef):
                continue
            dataclass_, frozen = _is_dataclass(node)
            annotated = [
                item for item in node.body
                if isinstance(item, ast.AnnAssign) and isinstance(item.target, ast.Name)
            ]
            mapped = any("Mapped[" in ast.unparse(item.annotation) for item in annotated)
            if (dataclass_ and not frozen) or mapped:
                fields.update(item.target.id for item in annotated)  # type: ignore[union-attr]
    return fields


def declared_by(trees: list[tuple[str, ast.Module]]) -> dict[str, set[str]]:
    """Attribute name -> the modules with a class that declares it (a class-level annotation
    or `self.<name> = ...` in one of its methods)."""
    found: dict[str, set[str]] = {}
    for module, tree in trees:
        for node in ast.walk(tree):
            if not isinstance(node, ast.ClassDef):
                continue
            for item in ast.walk(node):
                names: list[str] = []
                if isinstance(item, ast.AnnAssign) and isinstance(item.target, ast.Name):
                    names.append(item.target.id)
                for target in _targets(item):
                    if isinstance(target, ast.Attribute) and _chain(target) == ("self", 1):
                        names.append(target.attr)
                for name in names:
                    found.setdefault(name, set()).add(module)
    return found


def _near(module: str, other: str) -> bool:
    """`other` is `module`, or in `module`'s package (below bot/ itself)."""
    package = module.rsplit("/", 1)[0]
    return other == module or (package != "bot" and other.startswith(package + "/"))


def _targets(node: ast.AST) -> list[ast.expr]:
    if isinstance(node, ast.Assign):
        return [t for target in node.targets for t in _flatten(target)]
    if isinstance(node, ast.AnnAssign | ast.AugAssign):
        return [node.target]
    return []


def _flatten(target: ast.expr) -> list[ast.expr]:
    if isinstance(target, ast.Tuple | ast.List):
        return [t for item in target.elts for t in _flatten(item)]
    return [target]


def _chain(target: ast.Attribute) -> tuple[str | None, int]:
    """The name the attribute chain starts from, and how many attributes deep it goes."""
    depth, node = 0, target
    while isinstance(node, ast.Attribute):
        depth, node = depth + 1, node.value
    return (node.id if isinstance(node, ast.Name) else None), depth


def patches(trees: list[tuple[str, ast.Module]]) -> list[Assignment]:
    """Every assignment in bot/ to an attribute of something other than `self` or `cls`
    (or of a part of `self`), but for records' fields outside the builders and the library
    settings allowed above."""
    fields = record_fields(trees)
    declared = declared_by(trees)
    found = []
    for module, tree in trees:
        builder = module.startswith(BUILDERS)
        for node in ast.walk(tree):
            for target in _targets(node):
                if not isinstance(target, ast.Attribute):
                    continue
                root, depth = _chain(target)
                text = ast.unparse(target)
                if root in ("self", "cls") and depth == 1:
                    continue
                if (module, text) in LIBRARY_SETTINGS:
                    continue
                if target.attr == "__cause__":  # chaining an exception being raised
                    continue
                if root not in ("self", "cls") and depth == 1 and not builder:
                    if target.attr in fields:
                        continue
                    if any(_near(module, m) for m in declared.get(target.attr, ())):
                        continue
                found.append(Assignment(module, node.lineno, text))
    return found


@pytest.mark.slow
def test_no_built_object_is_patched_from_outside() -> None:
    found = patches(modules())
    assert not found, "pass these to constructors instead:\n" + "\n".join(map(str, found))


def test_the_guard_finds_a_patch_like_the_ones_it_replaced() -> None:
    """The check itself: the assignments the wiring used to make are found."""
    code = (
        "def wire(c, desk, telegram, toolbox, row):\n"
        "    c.conversation.documents = make()\n"
        "    desk.on_handoff = c.extras.handed_over\n"
        "    telegram.deps.documents = make()\n"
        "    toolbox.observer = metrics\n"
        "    row.status = 'done'\n"
        "class Part:\n"
        "    def __init__(self, deps):\n"
        "        self.deps = deps\n"
        "        self.deps.signals = make()\n"
    )
    tree = ast.parse(code)
    found = [str(a) for a in patches([("bot/elsewhere.py", tree)])]
    assert found == [
        "bot/elsewhere.py:2: c.conversation.documents = ...",
        "bot/elsewhere.py:3: desk.on_handoff = ...",
        "bot/elsewhere.py:4: telegram.deps.documents = ...",
        "bot/elsewhere.py:5: toolbox.observer = ...",
        "bot/elsewhere.py:6: row.status = ...",  # no record here declares `status`
        "bot/elsewhere.py:10: self.deps.signals = ...",
    ]
    # In the composition root not even a record's field is set from outside.
    records = ast.parse("@dataclass\nclass Row:\n    status: str\n")
    assert [str(a) for a in patches([("bot/models.py", records), ("bot/elsewhere.py", tree)])
            if "row." in a.target] == []
    assert [str(a) for a in patches([("bot/models.py", records), ("bot/wiring/x.py", tree)])
            if "row." in a.target] == ["bot/wiring/x.py:6: row.status = ..."]


@pytest.mark.slow
def test_every_allowed_library_setting_is_still_there() -> None:
    """An allow-list entry whose assignment is gone is removed with it."""
    present = {(module, ast.unparse(t)) for module, tree in modules()
               for node in ast.walk(tree) for t in _targets(node)}
    assert set(LIBRARY_SETTINGS) <= present


def test_the_telegram_app_is_handed_built_parts_and_builds_none() -> None:
    """`TelegramApp.__init__` takes the built Bot, Dispatcher, handler deps, backlog, leases,
    database outage notices, the services started with the bot (the support desk among
    them), what the features add to the webhook's web server (the console's pages) and two
    durations, and only keeps them: no call, no construction."""
    parameters = inspect.signature(TelegramApp).parameters
    assert list(parameters) == [
        "bot", "dp", "deps", "backlog", "leases", "notices", "services", "web",
        "shutdown_grace", "shutdown_settle",
    ]
    init = ast.parse(textwrap.dedent(inspect.getsource(TelegramApp.__init__))).body[0]
    assert isinstance(init, ast.FunctionDef)
    calls = [ast.unparse(n) for n in ast.walk(init) if isinstance(n, ast.Call)]
    assert calls == ["set()"], "the constructor keeps what it is given (and its own task set)"
