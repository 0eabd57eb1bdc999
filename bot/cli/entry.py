"""The command line's entry: `fmbot ...` (also `python -m bot ...`), each command with
`--app module:attribute` to run a developer's `App` (bot/app) instead of the plain one. The top
layer: it loads the App and hands the rest of the line to dispatch.py.
"""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Sequence

from bot.app import App, parts_of
from bot.cli.dispatch import EXIT_CONFIG, run_app


def _take_app(argv: Sequence[str]) -> tuple[str | None, list[str]]:
    """`--app X` / `--app=X` anywhere on the line, and the line without it."""
    spec, rest = None, []
    items = list(argv)
    while items:
        item = items.pop(0)
        if item == "--app" and items:
            spec = items.pop(0)
        elif item.startswith("--app="):
            spec = item.removeprefix("--app=")
        else:
            rest.append(item)
    return spec, rest


def main(argv: Sequence[str] | None = None) -> int:
    line = list(sys.argv[1:] if argv is None else argv)
    if line[:1] == ["new"]:  # a new project: no App, no settings
        from bot.scaffold import main as new_project

        return new_project(line[1:])
    spec, rest = _take_app(line)
    if spec is None:
        return run_app(parts_of(App.from_env()), rest)
    try:
        app = load_app(spec)
    except AppLoadError as exc:
        print(f"fmbot: --app {spec}: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    return run_app(parts_of(app), rest)


class AppLoadError(Exception):
    """`--app module:attribute` names no App; the message is one line saying why."""


def load_app(spec: str) -> App:
    """The App named by `module:attribute` (`attribute` defaults to `app`), importing the
    module from the current directory or the import path."""
    module_name, _, attribute = spec.partition(":")
    attribute = attribute or "app"
    if not module_name or not all(part.isidentifier() for part in module_name.split(".")):
        raise AppLoadError("expected module:attribute, e.g. mybot:app")
    if module_name.split(".")[0] == "bot":
        # fmbot's package is `bot`, imported already: a project's own bot.py or bot/ is never
        # the one found (docs/extending.md).
        raise AppLoadError(
            "'bot' is fmbot's own package: name your module or package something else "
            "(e.g. mybot) and run it with --app mybot:app"
        )
    if os.getcwd() not in sys.path and "" not in sys.path:
        sys.path.insert(0, os.getcwd())  # as `python -m` does; the `fmbot` script does not
    try:
        module = importlib.import_module(module_name)
    except Exception as exc:
        where = ""
        tb = exc.__traceback__
        while tb is not None:  # the innermost line of the developer's own code, if any
            if tb.tb_frame.f_code.co_filename.endswith(f"{module_name.split('.')[-1]}.py"):
                where = f" (line {tb.tb_lineno})"
            tb = tb.tb_next
        raise AppLoadError(
            f"cannot import module {module_name!r}{where}: {type(exc).__name__}: {exc}"
        ) from None
    found = getattr(module, attribute, None)
    if found is None:
        raise AppLoadError(f"module {module_name!r} has no attribute {attribute!r}")
    if not isinstance(found, App):
        raise AppLoadError(
            f"{module_name}.{attribute} is a {type(found).__name__}, not a bot.App "
            "(make it with App.from_env())"
        )
    return found
