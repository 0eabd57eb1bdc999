"""`fmbot check`'s lines on how the bot talks to the models: the wire (TEXT_API), the
built-in tools it offers and the reasoning mode, as `run` will use them."""

from __future__ import annotations

from bot.config.wire import check_wire, wire_lines
from bot.features.settings import Settings
from bot.plugin.outcome import Outcome, failed, passed


def wire_outcomes(settings: Settings) -> list[Outcome]:
    from bot.config import ConfigError

    lines = [passed(name, detail) for name, detail in wire_lines(settings)]
    try:
        check_wire(settings)
    except ConfigError as exc:
        lines[-1] = failed("reasoning", str(exc), "change REASONING or TEXT_API")
    return lines
