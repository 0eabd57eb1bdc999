"""The composition root: Settings -> objects, for `fmbot run` and `fmbot chat` (the other
commands build theirs in the CLI layer from the parts here).

With the config package and the command bodies, the only reader of Settings; what it builds
receives plain values and built collaborators (nothing is set on an object after it is built).
Resources are closed in reverse order of creation, whatever happens. By area: core.py (what
both front ends share), parts.py (the Telegram front's downloads and photos), telegram.py (the
Telegram front from plain values), operations.py (coordination, metrics, telemetry, the outbox),
preflight.py (what each command checks in its settings first), run.py (`fmbot run`).

The features are built by their own `Feature` objects (bot/features/<name>/feature.py), in the
order of the bot's list (bot/features/installed.py): the composition root loops over that list
and names no feature. What a feature builds on (`Groundwork`) and the model clients are the
features' API's (bot/plugin).
"""

from __future__ import annotations

from bot.plugin.ground import Groundwork, tool_environment
from bot.wiring.core import Core, core
from bot.wiring.run import BuiltBot, built_bot, run_bot

__all__ = [
    "BuiltBot",
    "Core",
    "Groundwork",
    "built_bot",
    "core",
    "run_bot",
    "tool_environment",
]
