"""`bot.plugin.metrics`: metrics: a feature declares its own series on the bot's Prometheus
registry (shown on /metrics) with `counter`, `gauge` and `histogram`, each a `Family` whose
`child(*label_values)` is the series to update (a label's values capped); the core's own
series and functions are in `registry`."""

from __future__ import annotations

from bot.metrics import registry
from bot.metrics.registry import Family, counter, gauge, histogram

__all__ = [
    "Family",
    "counter",
    "gauge",
    "histogram",
    "registry",
]
