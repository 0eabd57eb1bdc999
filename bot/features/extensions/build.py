"""The registered context providers and turn hooks (the App's, its plugins'), run safely
(runner.py), and their lifecycle hooks: built from what the features registered."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.features.extensions.runner import ExtensionRunner, run_lifecycle

if TYPE_CHECKING:
    from bot.plugin.extending import AppHolds, RunContext


def build_runner(app: AppHolds | None, timeout: float = 5.0) -> ExtensionRunner | None:
    """The registered context providers and `on_answer` / `on_handoff` hooks, each bounded by
    `timeout` seconds (EXTENSION_TIMEOUT); None without a registry or when none was."""
    if app is None:
        return None
    runner = ExtensionRunner(providers=app.providers, on_answer=app.answer_hooks,
                             on_handoff=app.handoff_hooks, timeout=timeout)
    return runner if runner else None


async def lifecycle(app: AppHolds, kind: str, limit: float, context: RunContext) -> None:
    """The registered on_startup or on_shutdown hooks (a failing one is logged, never
    fatal)."""
    hooks = app.startup_hooks if kind == "on_startup" else app.shutdown_hooks
    await run_lifecycle(kind, hooks, limit, context)
