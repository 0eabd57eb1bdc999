"""The composition root: Settings -> objects, for `fmbot run` and `fmbot chat` (the other
commands build theirs in the CLI layer from the parts here).

With the config package and the command bodies, the only reader of Settings; what it builds
receives plain values and built collaborators (nothing is set on an object after it is built).
Resources are closed in reverse order of creation, whatever happens. By area: core.py (what
both front ends share), groundwork.py (what the features build on), clients.py (the model
clients), parts.py (the Telegram front's downloads and photos), telegram.py (the Telegram
front from plain values), operations.py (coordination, metrics, telemetry, the outbox),
preflight.py (what each command checks in its settings first), run.py (`fmbot run`).

The features are built by their own build modules (bot/features/<name>/build.py), which the
list in bot/features/build.py calls: the composition root asks that list and names no feature.
"""

from __future__ import annotations

from bot.features.build import lifecycle
from bot.wiring.core import Core, FrontEnd, core
from bot.wiring.groundwork import Groundwork, tool_environment
from bot.wiring.run import BuiltBot, built_bot, run_bot

__all__ = [
    "BuiltBot",
    "Core",
    "FrontEnd",
    "Groundwork",
    "built_bot",
    "core",
    "lifecycle",
    "run_bot",
    "tool_environment",
]
