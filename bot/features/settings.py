"""The features' own checks of their settings, which a command runs before it starts anything
(bot/wiring/preflight.py asks them by step name and names no feature): the support desk's
SUPPORT_* settings."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.config import Settings


def settings_checks(settings: Settings) -> dict[str, Callable[[], object]]:
    """Each step's check of `settings` (raising ConfigError), by the step's name."""

    def support() -> None:
        from bot.features.desk.build import check_support

        check_support(settings)

    return {"support": support}
