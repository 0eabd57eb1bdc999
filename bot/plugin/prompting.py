"""`bot.plugin.prompting`: the prompt's pure helpers: token estimates (`estimate_tokens`,
`exchange_cost`, `PROMPT_OVERHEAD`), data quoted into a prompt as data (`as_data`), a message's
text without invisible characters (`visible`) and a model's base name. No storage, HTTP or
Telegram: any module of a feature may import it."""

from __future__ import annotations

from bot.prompting import (
    PROMPT_OVERHEAD,
    as_data,
    estimate_tokens,
    exchange_cost,
    model_base_name,
    visible,
)

__all__ = [
    "PROMPT_OVERHEAD",
    "as_data",
    "estimate_tokens",
    "exchange_cost",
    "model_base_name",
    "visible",
]
