"""`async with app`: the bot inside another program's event loop, against the fake Telegram
and Yandex servers on loopback; it answers while the block runs, takes over neither the
process's signals nor its logging, and stops gracefully when the block ends."""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from pydantic import SecretStr

from bot import App, AppError, Settings
from bot.config import ConfigError
from tests.fakes.telegram.server import TelegramServer
from tests.fakes.yandex.server import FakeFoundationModels
from tests.ports import free_port

pytestmark = [pytest.mark.timeout(60)]

TOKEN = "123456:app-token"
API_KEY = "app-key"
FOLDER = "b1gapp"


@pytest.fixture
async def fakes() -> AsyncIterator[tuple[TelegramServer, FakeFoundationModels]]:
    async with TelegramServer(TOKEN) as tg, FakeFoundationModels(
        api_key=API_KEY, folder_id=FOLDER
    ) as fm:
        yield tg, fm


def settings_for(tg: TelegramServer, fm: FakeFoundationModels, folder: Path) -> Settings:
    return Settings(  # type: ignore[call-arg]
        _env_file=None, telegram_bot_token=TOKEN, telegram_api_url=tg.url,
        yandex_api_key=API_KEY, yandex_folder_id=FOLDER, yandex_llm_url=fm.url,
        yandex_operation_url=fm.url, stt_url=fm.url, tts_url=fm.url,
        database_url=f"sqlite+aiosqlite:///{folder / 'bot.db'}",
    )


@pytest.mark.slow
@pytest.mark.usefixtures("virtual_clock")
async def test_the_bot_answers_inside_the_block_and_stops_when_it_ends(
    fakes: tuple[TelegramServer, FakeFoundationModels], tmp_path: Path
) -> None:
    tg, fm = fakes
    sigterm, sigint = signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT)
    handlers = list(logging.getLogger().handlers)
    app = App(settings=settings_for(tg, fm, tmp_path))
    fm.queue_reply("Hello from inside.")
    async with app:
        # Running: the process's signals and logging are the program's own.
        assert signal.getsignal(signal.SIGTERM) is sigterm
        assert signal.getsignal(signal.SIGINT) is sigint
        assert logging.getLogger().handlers == handlers
        tg.send_user_message(7, "hi")
        chat = tg.chat(7)
        await tg.wait_for(lambda: any(m.text == "Hello from inside." for m in chat.bot_messages),
                          timeout=30)
        with pytest.raises(AppError, match="running already"):
            await app.__aenter__()
    # Stopped: nothing polls any more, and the same App can start again.
    polls = len([c for c in tg.calls if c.method == "getUpdates"])
    tg.send_user_message(7, "still there?")

    await asyncio.sleep(1.5)
    assert len([c for c in tg.calls if c.method == "getUpdates"]) == polls
    assert len(chat.bot_messages) == 1
    fm.queue_reply("Back again.")
    async with app:
        await tg.wait_for(lambda: any(m.text == "Back again." for m in chat.bot_messages),
                          timeout=30)


async def test_a_bad_setting_is_raised_when_entering(
    fakes: tuple[TelegramServer, FakeFoundationModels], tmp_path: Path
) -> None:
    tg, fm = fakes
    settings = settings_for(tg, fm, tmp_path).model_copy(update={"yandex_folder_id": ""})
    with pytest.raises(ConfigError, match="YANDEX_FOLDER_ID"):
        async with App(settings=settings):
            pytest.fail("the bot must not start")


@pytest.mark.parametrize("mode", ["polling", "webhook"])
async def test_a_clean_exit_logs_nothing_at_warning_or_above(
    fakes: tuple[TelegramServer, FakeFoundationModels], tmp_path: Path,
    caplog: pytest.LogCaptureFixture, mode: str,
) -> None:
    tg, fm = fakes
    caplog.set_level(logging.INFO)
    settings = settings_for(tg, fm, tmp_path)
    if mode == "webhook":
        settings = settings.model_copy(update={
            "telegram_mode": "webhook", "telegram_webhook_url": "https://bot.example/hook",
            "telegram_webhook_secret": SecretStr("app-webhook-secret"),
            "telegram_webhook_listen": f"127.0.0.1:{free_port()}"})
    fm.queue_reply("Hello.")
    async with App(settings=settings):
        if mode == "polling":
            tg.send_user_message(7, "hi")
            await tg.wait_for(lambda: any(m.text == "Hello." for m in tg.chat(7).bot_messages),
                              timeout=30)
    loud = [f"{r.levelname} {r.name}: {r.getMessage()}" for r in caplog.records
            if r.levelno >= logging.WARNING]
    assert loud == []
    assert any(r.getMessage().startswith("stopping") for r in caplog.records)  # said, at INFO
