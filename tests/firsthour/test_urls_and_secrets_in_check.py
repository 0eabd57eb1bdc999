"""Issue 64, items 1 and 2: `fmbot check` never prints a secret, whatever exception text
carries it; every *_URL setting without a scheme or a host stops `run` with one line saying
what to add, in words that fit a proxy, and `check` does not ask for credentials then."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from bot.cli.checks import run_checks
from bot.features.installed import FEATURES
from bot.features.settings import Settings
from bot.testing.telegram.wire import TelegramError
from bot.wiring.preflight import problems
from tests.fakes.telegram.server import TelegramServer
from tests.fakes.yandex.server import FakeFoundationModels
from tests.operations.test_check import API_KEY, FOLDER, TOKEN, by_name, settings_for
from tests.ports import free_port


@pytest.fixture
async def fakes() -> AsyncIterator[tuple[TelegramServer, FakeFoundationModels]]:
    async with TelegramServer(TOKEN) as tg, FakeFoundationModels(
        api_key=API_KEY, folder_id=FOLDER
    ) as fm:
        yield tg, fm


def _everything(outcomes: list[Any]) -> str:
    return "\n".join(outcome.line() for outcome in outcomes)


# --- item 1: no secret in `check`'s output -----------------------------------------------------
async def test_a_telegram_url_without_a_scheme_never_prints_the_token(
    fakes: tuple[TelegramServer, FakeFoundationModels], sqlite_url: str
) -> None:
    tg, fm = fakes
    schemeless = tg.url.removeprefix("http://")
    outcomes = await run_checks(settings_for(tg, fm, sqlite_url, telegram_api_url=schemeless))
    telegram = by_name(outcomes)["telegram"]
    assert not telegram.ok
    assert TOKEN not in _everything(outcomes)
    assert "TELEGRAM_API_URL" in telegram.detail
    assert f"http://{schemeless}" in telegram.detail or "add https://" in telegram.detail


async def test_no_check_line_shows_a_secret_an_error_text_carries(
    fakes: tuple[TelegramServer, FakeFoundationModels], sqlite_url: str
) -> None:
    """A proxy in front of the Bot API that echoes the request path (token and all) in its
    error: the getMe line says the call failed, without the token; the same for the key."""
    tg, fm = fakes

    async def echoing(params: Any, call: Any) -> Any:
        raise TelegramError(400, f"Bad Request: no route for /bot{TOKEN}/getMe "
                                 f"(Authorization: Api-Key {API_KEY})")

    tg.methods["getme"] = echoing
    outcomes = await run_checks(settings_for(tg, fm, sqlite_url))
    telegram = by_name(outcomes)["telegram"]
    assert not telegram.ok
    assert "no route for /bot***/getMe" in telegram.detail
    assert TOKEN not in _everything(outcomes)
    assert API_KEY not in _everything(outcomes).replace("YANDEX_API_KEY", "")


# --- item 2: every URL setting checked at start -------------------------------------------
def _settings(tmp_path: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "telegram_bot_token": TOKEN, "yandex_api_key": API_KEY, "yandex_folder_id": FOLDER,
        "database_url": f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}",
    }
    return Settings(_env_file=None, **{**values, **overrides})  # type: ignore[call-arg]


@pytest.mark.parametrize(
    "name",
    ["TELEGRAM_API_URL", "TELEGRAM_WEBHOOK_URL", "YANDEX_LLM_URL", "YANDEX_OPERATION_URL",
     "YANDEX_IAM_URL", "YANDEX_METADATA_URL", "YANDEX_OPENAI_URL", "YANDEX_RESPONSES_URL",
     "STT_URL", "TTS_URL"],
)
def test_a_url_setting_without_a_scheme_stops_run_saying_what_to_add(
    tmp_path: Path, name: str
) -> None:
    webhook = ({"telegram_mode": "webhook", "telegram_webhook_secret": "s3cret"}
               if name == "TELEGRAM_WEBHOOK_URL" else {})
    settings = _settings(tmp_path, **webhook, **{name.lower(): "127.0.0.1:18531"})
    assert problems(settings, "run", FEATURES) == [
        f"{name}: '127.0.0.1:18531' has no scheme: add https:// (or http:// for a server "
        f"without TLS), e.g. {name}=https://127.0.0.1:18531"
    ]


@pytest.mark.parametrize(
    ("value", "says"),
    [("https://", "has no host: add it after https://"),
     ("ftp://proxy.example.com", "starts with ftp://: write an http:// or https:// URL")],
)
def test_a_url_without_a_host_or_with_another_scheme_is_named(
    tmp_path: Path, value: str, says: str
) -> None:
    [line] = problems(_settings(tmp_path, telegram_api_url=value), "run", FEATURES)
    assert line.startswith("TELEGRAM_API_URL: ")
    assert says in line


def test_a_proxys_password_is_not_echoed(tmp_path: Path) -> None:
    [line] = problems(_settings(tmp_path, yandex_llm_url="ftp://me:pr0xy-pass@proxy"),
                     "run", FEATURES)
    assert "pr0xy-pass" not in line
    assert "me:***@proxy" in line


async def test_check_blames_the_url_not_the_credentials(
    fakes: tuple[TelegramServer, FakeFoundationModels], sqlite_url: str
) -> None:
    tg, fm = fakes
    port = free_port()
    names = by_name(await run_checks(settings_for(
        tg, fm, sqlite_url, yandex_llm_url=f"127.0.0.1:{port}")))
    yandex = names["yandex"]
    assert not yandex.ok
    assert "YANDEX_LLM_URL" in yandex.detail
    assert "Yandex endpoint" not in yandex.detail  # it may well be a proxy
    assert "credentials" not in yandex.fix
    assert "URL" in yandex.fix
