"""`bot.plugin.metrics`: metrics: the Prometheus `registry` a feature adds its own series to
(shown on /metrics)."""

from __future__ import annotations

from bot.metrics import registry

__all__ = [
    "registry",
]
