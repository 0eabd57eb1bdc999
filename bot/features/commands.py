"""What the features add to `bot check`: their checks, which the command loops over and names
no feature. (Their own commands are listed by cli.py, their parts of `bot report` by
reports.py.)"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.cli.checks.outcome import Outcome
    from bot.config import Settings


@dataclass(frozen=True, slots=True)
class FeatureCheck:
    """A check `bot check` runs once the credentials are known good."""

    name: str
    run: Callable[[], Awaitable[Outcome]]


def feature_checks(settings: Settings) -> list[FeatureCheck]:
    """The checks of the features that are on, in order."""
    checks: list[FeatureCheck] = []
    if settings.voice_replies_mode != "off":
        from bot.features.voice.checks import check_synthesis

        checks.append(FeatureCheck("speech synthesis", lambda: check_synthesis(settings)))
    return checks

