"""`python -m bot check`: every dependency verified the way `run` uses it, one line each.

Each check returns an `Outcome`; a failure carries the fix. The checks run concurrently (each
within `each_within` seconds), print in a fixed order, and write nothing (a missing SQLite file
is not created, the schema not migrated; in Redis one lease "check" is taken and given back).
Every line passes the log's scrubber with the secrets `run` gives it: an exception's text may
carry a request URL with the bot token in it, and people paste this output into issues.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import os
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import TYPE_CHECKING

from bot.cli.checks.models import check_models
from bot.cli.checks.services import (
    check_configuration,
    check_database,
    check_redis,
    check_telegram,
    check_yandex,
    redacted,
)
from bot.cli.checks.timing import LoopLag, import_what_checks_use, within
from bot.cli.checks.wire import wire_outcomes
from bot.config import ConfigError
from bot.features.settings import Settings
from bot.plugin.lifespan import declared
from bot.plugin.outcome import Outcome, failed, passed, skipped, unexpected
from bot.plugin.registry import Registry

if TYPE_CHECKING:
    from bot.plugin.feature import Feature, FeatureCheck, TelegramLine

log = logging.getLogger(__name__)


async def _one(check: Awaitable[Outcome]) -> list[Outcome]:
    return [await check]


def _feature_check(
    check: FeatureCheck, seconds: float, lag: LoopLag
) -> Callable[[], Awaitable[list[Outcome]]]:
    return lambda: within(check.name, seconds, check.run(), lag)


async def _after_credentials(
    yandex: Awaitable[list[Outcome]], name: str, check: Callable[[], Awaitable[list[Outcome]]]
) -> list[Outcome]:
    """`check` needs the Yandex credentials: when the yandex check failed, blaming a missing
    role here would send the reader the wrong way, so it is skipped, pointing there."""
    if not all(outcome.ok for outcome in await yandex):
        return [skipped(name, "the Yandex check above failed; fix that first")]
    return await check()


async def _timed_checks(
    settings: Settings, token: str, outcomes: list[Outcome],
    each_within: float, lag: LoopLag, listed: Sequence[Feature],
    features: Sequence[FeatureCheck], telegram_lines: Sequence[TelegramLine],
) -> list[FeatureCheck]:
    """The checks that wait for an answer, each within its time; their lines join
    `outcomes` in a fixed order."""
    jobs: list[Awaitable[list[Outcome]]] = []
    if token:
        # The features' lines, read once getMe has accepted the token (guest mode, connected
        # accounts, the support chat's rights).
        lines = list(telegram_lines)
        jobs.append(within("telegram", each_within,
                           check_telegram(token, settings.telegram_api_url, lines), lag))
    else:
        outcomes.append(failed("telegram", "TELEGRAM_BOT_TOKEN is not set",
                               "set the token @BotFather gave you"))
    yandex = asyncio.ensure_future(
        within("yandex", each_within, _one(check_yandex(settings)), lag))
    jobs.append(yandex)
    for check in features:  # what the settings ask for (web search), printed at once
        if check.settings_only:
            outcomes.extend(await _feature_check(check, each_within, lag)())
    for check in features:  # the features' own that call Yandex (the Vector Store, voice)
        if check.credentials and not (check.settings_only or check.local):
            jobs.append(_after_credentials(yandex, check.name,
                                           _feature_check(check, each_within, lag)))
    branches = [branch for feature in listed for branch in feature.migrations]
    jobs.append(within("database", each_within,
                       _one(check_database(settings.database_url, branches)), lag))
    if settings.redis_url:
        jobs.append(within("redis", each_within,
                           _one(check_redis(settings.redis_url, settings.replica_id)), lag))
    for check in features:  # the others (tools: TOOLS_FILE, its hosts and MCP servers)
        if not (check.credentials or check.settings_only or check.local):
            jobs.append(_feature_check(check, each_within, lag)())
    jobs.append(_after_credentials(yandex, "models", lambda: within(
        "models", each_within * 2, check_models(settings, listed), lag)))
    for found in await asyncio.gather(*jobs):
        outcomes.extend(found)
    return [check for check in features if check.local and not check.settings_only]


async def run_checks(
    settings: Settings,
    *,
    each_within: float = 20.0,
    tools_environ: Mapping[str, str] | None = None,
    features: Sequence[Feature] | None = None,
) -> list[Outcome]:
    """Every check of what `run` depends on, one line each; `features`: the bot's (fmbot's
    list when None; the command adds its plugins')."""
    from bot.features.installed import FEATURES

    listed = FEATURES if features is None else features
    try:
        outcomes = check_configuration(settings, listed)
    except Exception as exc:  # its own FAIL line; the others still run
        outcomes = [unexpected("configuration", exc)]
    token = settings.telegram_bot_token.get_secret_value() if settings.telegram_bot_token else ""
    environ = tools_environ if tools_environ is not None else dict(os.environ)
    try:
        declaration = declared(listed, settings, environ=environ)
    except ConfigError:  # the configuration's line says why
        declaration = Registry()
    checks = list(declaration.checks)
    # Before any timer starts: each timer measures an answer, never this process's imports.
    import_what_checks_use(settings, [name for check in checks for name in check.imports])
    async with LoopLag().watching() as lag:
        local = await _timed_checks(settings, token, outcomes, each_within, lag, listed,
                                    checks, declaration.telegram_checks)
    outcomes.extend(wire_outcomes(settings))
    for check in local:  # the features' checks of this machine (KB_PATH's folders)
        try:
            outcomes.extend(await check.run())
        except Exception as exc:  # its own FAIL line
            outcomes.append(unexpected(check.name, exc))
    from bot.cli.factory import secrets_of
    from bot.log import Scrubber

    scrub = Scrubber(secrets_of(settings, listed))
    return [dataclasses.replace(o, detail=scrub(o.detail), fix=scrub(o.fix)) for o in outcomes]


__all__ = [
    "Outcome",
    "check_configuration",
    "check_database",
    "check_redis",
    "check_telegram",
    "check_yandex",
    "failed",
    "passed",
    "redacted",
    "run_checks",
    "skipped",
    "unexpected",
]
