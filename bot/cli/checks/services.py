"""The checks of what `run` depends on: the configuration, Telegram (with the features' lines
read off getMe), Yandex, the database and Redis."""

from __future__ import annotations

import asyncio
import logging
import os
import uuid
from collections.abc import Sequence
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from sqlalchemy.engine import make_url

from bot.config import ConfigError
from bot.features.settings import Settings
from bot.plugin.outcome import Outcome, failed, passed, unexpected

if TYPE_CHECKING:
    from bot.plugin.feature import Feature, TelegramLine
    from bot.storage.migrations import Branch

log = logging.getLogger(__name__)


def check_configuration(settings: Settings, features: Sequence[Feature]) -> list[Outcome]:
    """The same validation `run` does before it starts anything (by the same function), with
    the checks of `features` (the bot's: fmbot's and its plugins')."""
    from bot.wiring.preflight import problems

    found = problems(settings, "run", features)
    return [failed("configuration", problem, "edit .env or the environment")
            for problem in found] or [
        passed("configuration", "settings are complete and consistent")
    ]



async def check_telegram(
    token: str, api_url: str, lines: Sequence[TelegramLine] = ()
) -> list[Outcome]:
    """getMe with the token; then the features' own lines, read off what getMe told (guest
    queries, connected accounts) or asked of Telegram with the bot (the support chat)."""
    from bot.config.parsing import url_problem

    if (problem := url_problem("telegram_api_url", api_url)) is not None:
        # Nothing to ask: aiogram would fail on a request URL that carries the token.
        return [failed("telegram", problem, "write TELEGRAM_API_URL in full in .env or the "
                       "environment, or unset it for Telegram's own")]
    from bot.telegram.startup import make_bot  # first: aiogram with lazily built models

    make_bot  # noqa: B018 - aiogram is imported now, lazily
    from aiogram.exceptions import (
        TelegramAPIError,
        TelegramNetworkError,
        TelegramUnauthorizedError,
    )

    bot = make_bot(token, api_url)
    try:
        try:
            me = await bot.me()
        except TelegramUnauthorizedError:
            return [failed("telegram", "Telegram rejected TELEGRAM_BOT_TOKEN (401 Unauthorized)",
                           "copy the token @BotFather gave you (/mybots -> API Token)")]
        except TelegramNetworkError as exc:
            return [failed("telegram", f"cannot reach {api_url}: {exc}",
                           "check the network, a proxy or TELEGRAM_API_URL")]
        except TelegramAPIError as exc:
            return [failed("telegram", f"getMe failed: {exc}",
                           "check TELEGRAM_BOT_TOKEN and TELEGRAM_API_URL")]
        except Exception as exc:  # a reply aiogram could not read, and the like
            return [unexpected("telegram", exc)]
        outcomes = [passed("telegram", f"token accepted: @{me.username} (id {me.id})")]
        for line in lines:
            try:
                outcomes.append(await line.read(bot, me))
            except Exception as exc:  # its own FAIL line; the rest still print
                outcomes.append(unexpected(line.name, exc))
        return outcomes
    finally:
        await bot.session.close()


async def check_yandex(settings: Settings) -> Outcome:
    """A tokenizer call: cheap, not billed, and it needs valid credentials and folder."""
    from bot.foundation_models import errors
    from bot.plugin.clients import build_auth_from, build_client

    name = "yandex"
    try:
        settings.check_yandex()
    except ConfigError as exc:
        # A URL written without its scheme is not a credentials problem: say which to fix.
        urls = set(settings.url_problems())
        lines = str(exc).splitlines()
        fixes = (["set the credentials"] if any(line not in urls for line in lines) else []) + (
            ["write each URL named above in full (scheme and host)"]
            if any(line in urls for line in lines) else [])
        return failed(name, str(exc), f"{' and '.join(fixes)} in .env or the environment")
    try:
        client = build_client(settings, build_auth_from(settings))
    except errors.FoundationModelsError as exc:
        return failed(name, str(exc), "check YANDEX_SA_KEY_FILE (an authorized key JSON)")
    folder = settings.yandex_folder_id
    try:
        tokens = await client.tokenize("fmbot check", model=settings.text_model)
    except errors.AuthenticationError as exc:
        return failed(name, f"Yandex rejected the credentials (401): {exc.message}",
                      "create a new API key for the service account, or refresh the IAM token")
    except errors.PermissionDeniedError as exc:
        return failed(name, f"access denied in folder {folder} (403): {exc.message}",
                      f"give the service account the role ai.languageModels.user in folder "
                      f"{folder}, and check YANDEX_FOLDER_ID")
    except (errors.NotFoundError, errors.BadRequestError) as exc:
        return failed(name, f"the tokenizer refused model {settings.text_model!r} in folder "
                      f"{folder}: {exc.message}", "check TEXT_MODEL and YANDEX_FOLDER_ID")
    except errors.APIConnectionError as exc:
        return failed(name, f"cannot reach {settings.yandex_llm_url}: {exc}",
                      "check the network, a proxy or YANDEX_LLM_URL")
    except errors.FoundationModelsError as exc:
        return failed(name, f"tokenizer call failed: {exc}", "retry later; if it persists, "
                      "check https://status.yandex.cloud")
    finally:
        await client.aclose()
    return passed(name, f"credentials accepted in folder {folder} ({settings.text_model}: "
                  f"{len(tokens)} tokens)")



async def check_database(url: str, branches: Sequence[Branch] = ()) -> Outcome:
    """Whether the database opens, and its revisions against this code's heads: fmbot's
    history's and the features' own `branches`."""
    from bot.storage.database import is_sqlite
    from bot.storage.migrations import current_revisions, head_revisions
    from bot.wiring.preflight import check_database_url

    name = "database"
    try:
        check_database_url(url)
    except ConfigError as exc:
        return failed(name, str(exc), "set DATABASE_URL in .env or the environment")
    safe = make_url(url).render_as_string(hide_password=True)
    heads = head_revisions(branches)
    head = ", ".join(heads)
    if is_sqlite(url) and _missing_file(make_url(url).database):
        return passed(name, f"{safe} does not exist yet: `run` creates it at revision {head}")
    try:
        revisions = await current_revisions(url)
    except Exception as exc:  # any driver's failure: the line names it
        return failed(name, f"cannot open {safe}: {type(exc).__name__}: {exc}",
                      "check DATABASE_URL and that the server runs and accepts this user "
                      "(PostgreSQL needs `pip install 'fmbot[postgres]'`)")
    revision = ", ".join(revisions)
    if revisions == heads:
        return passed(name, f"{safe} is at revision {revision} (the latest)")
    if not revisions:
        return passed(name, f"{safe} has no schema yet: `run` migrates it to {head}")
    from alembic.script import ScriptDirectory

    from bot.storage.migrations import alembic_config, sort_rows

    script = ScriptDirectory.from_config(alembic_config(url, branches))
    known = {s.revision for s in script.walk_revisions()}
    too_new, _ = sort_rows(revisions, known, [label for label, _ in branches])
    if too_new:
        return failed(name, f"{safe} is at revision {', '.join(too_new)}, newer than this "
                      f"fmbot (latest {head})", "run the newer fmbot, or restore a backup")
    return passed(name, f"{safe} is at revision {revision}; `run` (or `python -m bot "
                  f"migrate`) upgrades it to {head}")


def _missing_file(path: str | None) -> bool:
    return bool(path) and path != ":memory:" and not os.path.exists(str(path))


async def check_redis(url: str, replica_id: str) -> Outcome:
    """PING, then one lease taken and given back: the Lua scripts must be allowed too."""
    from bot.coordination import CoordinationError
    from bot.coordination.redisstore import RedisCoordinator

    name = "redis"
    safe = redacted(url)
    coordinator = RedisCoordinator.from_url(url, prefix="fmbot:check:")
    try:
        await coordinator.ping()
        # One lease name for every check, so one fencing counter is kept (a check running
        # at this moment holds it for milliseconds).
        owner, lease = f"{replica_id}:{uuid.uuid4().hex}", None
        for _ in range(20):
            if (lease := await coordinator.acquire_lease("check", owner, 5.0)) is not None:
                break
            await asyncio.sleep(0.1)
        if lease is None or not await coordinator.release_lease(lease):
            return failed(name, f"{safe} answered, but a lease could not be taken and given "
                          "back", "use a Redis of version 6.2 or newer that allows EVALSHA")
    except CoordinationError as exc:
        return failed(name, f"{safe}: {exc}",
                      "check REDIS_URL (redis://[:password@]host:6379/0) and that Redis runs")
    finally:
        await coordinator.aclose()
    return passed(name, f"{safe} answers (leases work)")


def redacted(url: str) -> str:
    """The URL with its password replaced by ***."""
    parts = urlsplit(url)
    if not parts.password:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return parts._replace(netloc=netloc).geturl()


# --- Photos and voice notes ---------------------------------------------------------
