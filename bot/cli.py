"""Command line: `fmbot run | migrate | chat | check | report | kb sync|search|eval`
(also `python -m bot ...`), each with `--app module:attribute` to run a developer's `App`
(bot/app.py) instead of the plain one. The top layer: it loads the App and hands the rest of
the line to bot/commands.py.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from bot.app import App, AppLoadError, load_app
from bot.commands import EXIT_CONFIG, run_app


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
    spec, rest = _take_app(sys.argv[1:] if argv is None else argv)
    if spec is None:
        return run_app(App.from_env(), rest)
    try:
        app = load_app(spec)
    except AppLoadError as exc:
        print(f"fmbot: --app {spec}: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    return run_app(app, rest)
