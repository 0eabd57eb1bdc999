"""What the features add to the core's commands: `bot check`'s checks and `bot report`'s
sections. The commands (bot/cli) loop over these and name no feature. (Their own commands
are listed by cli.py.)"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

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


async def report_sections(
    settings: Settings, sessionmaker: async_sessionmaker[AsyncSession], *, days: int
) -> list[str]:
    """The features' sections of `bot report` over the last `days`, in order."""
    from bot.features.voice.report import voice_report

    return [await voice_report(sessionmaker, days=days, budget=settings.tts_chars_per_user_day)]
