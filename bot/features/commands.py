"""What the features add to `bot check`: their checks, which the command loops over and names
no feature. (Their own commands are listed by cli.py, their parts of `bot report` by
reports.py, the secrets the logs must never show by secrets.py.)"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.cli.checks.outcome import Outcome
    from bot.features.settings import Settings


@dataclass(frozen=True, slots=True)
class FeatureCheck:
    """A feature's lines in `bot check`. `credentials`: it calls Yandex, so it runs once the
    credentials are known good (skipped, pointing at that check, when they are not); the
    others run beside the database's."""

    name: str
    run: Callable[[], Awaitable[list[Outcome]]]
    credentials: bool = True


def feature_checks(settings: Settings, environ: Mapping[str, str]) -> list[FeatureCheck]:
    """The checks of the features that are on, in order. `environ`: where TOOLS_FILE's
    secrets are read from (the process's environment)."""
    checks: list[FeatureCheck] = []
    if settings.voice.replies != "off":
        from bot.features.voice.checks import check_synthesis
        from bot.wiring.clients import build_auth_from

        async def synthesis() -> list[Outcome]:
            return [await check_synthesis(settings.voice, folder_id=settings.yandex_folder_id,
                                          auth=lambda: build_auth_from(settings))]

        checks.append(FeatureCheck("speech synthesis", synthesis))
    path = settings.tools.file
    if path is not None:
        from bot.features.tools.checks import check_tools

        checks.append(FeatureCheck("tools", lambda: check_tools(path, environ=environ),
                                   credentials=False))
    return checks
