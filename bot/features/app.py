"""What the public App (bot/app) asks of the features: the tool source its `@app.tool`
functions join (the tools feature's Python-function tools), so that bot/app names no feature.
The App's context providers and hooks are run by the extensions feature, which the composition
root builds from what the App holds (bot/features/extensions/build.py)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.extending.tools import FunctionToolSource


def function_tools(name: str) -> FunctionToolSource:
    """A tool source of Python functions, known in the log as `python:<name>`."""
    from bot.features.tools.functions import FunctionTools

    return FunctionTools(name)
