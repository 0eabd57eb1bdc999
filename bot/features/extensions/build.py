"""The App's context providers and turn hooks, run safely (runner.py), and its lifecycle
hooks: built and run by the composition root from what the App holds."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.features.extensions.runner import ExtensionRunner, run_lifecycle

if TYPE_CHECKING:
    from bot.plugin.extending import AppHolds, RunContext


def build_runner(app: AppHolds | None, timeout: float = 5.0) -> ExtensionRunner | None:
    """The App's context providers and its `on_answer` / `on_handoff` hooks, each bounded by
    `timeout` seconds (EXTENSION_TIMEOUT); None without an App or when it added none."""
    if app is None:
        return None
    runner = ExtensionRunner(providers=app.providers, on_answer=app.answer_hooks,
                             on_handoff=app.handoff_hooks, timeout=timeout)
    return runner if runner else None


async def lifecycle(app: AppHolds, kind: str, limit: float, context: RunContext) -> None:
    """The App's on_startup or on_shutdown hooks (a failing one is logged, never fatal)."""
    hooks = app.startup_hooks if kind == "on_startup" else app.shutdown_hooks
    await run_lifecycle(kind, hooks, limit, context)
