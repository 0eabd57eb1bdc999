"""The App's context providers and turn hooks, run safely (runner.py): built by the
composition root from what the App holds."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.features.extensions.runner import ExtensionRunner

if TYPE_CHECKING:
    from bot.app.parts import AppParts


def build_runner(app: AppParts | None, timeout: float = 5.0) -> ExtensionRunner | None:
    """The App's context providers and its `on_answer` / `on_handoff` hooks, each bounded by
    `timeout` seconds (EXTENSION_TIMEOUT); None without an App or when it added none."""
    if app is None:
        return None
    runner = ExtensionRunner(providers=app.providers, on_answer=app.answer_hooks,
                             on_handoff=app.handoff_hooks, timeout=timeout)
    return runner if runner else None
