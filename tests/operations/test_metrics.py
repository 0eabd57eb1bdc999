"""Metrics: what the Foundation Models client and the Telegram session report, the label cap,
and the /metrics, /healthz, /readyz endpoints (real HTTP on loopback)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator

import aiohttp
import pytest
from aiogram import Bot, Dispatcher
from aiogram.exceptions import TelegramRetryAfter
from aiogram.types import Update

from bot.foundation_models.auth import ApiKeyAuth
from bot.foundation_models.client import FoundationModelsClient
from bot.foundation_models.errors import BadRequestError
from bot.foundation_models.transport import RetryPolicy
from bot.foundation_models.types import ChatMessage
from bot.metrics import registry as metrics
from bot.metrics.registry import REGISTRY, YandexMetrics
from bot.metrics.server import SHUTTING_DOWN, Readiness, serve_metrics
from bot.storage.database import Database
from bot.telegram.startup import make_bot
from bot.telegram.telemetry import install_telemetry
from tests.fakes.telegram.server import TelegramServer
from tests.fakes.yandex.server import FakeFoundationModels


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


async def no_sleep(_: float) -> None:
    return None


@pytest.fixture
async def fm() -> AsyncIterator[FakeFoundationModels]:
    async with FakeFoundationModels(api_key="k", folder_id="b1gmetrics") as server:
        yield server


@pytest.fixture
async def client(fm: FakeFoundationModels) -> AsyncIterator[FoundationModelsClient]:
    async with FoundationModelsClient(
        folder_id="b1gmetrics", auth=ApiKeyAuth("k"), llm_url=fm.url, operation_url=fm.url,
        retry=RetryPolicy(max_attempts=3, initial_backoff=0.0), sleep=no_sleep,
        observer=YandexMetrics(),
    ) as c:
        yield c


async def test_yandex_requests_retries_errors_tokens_and_waits(
    fm: FakeFoundationModels, client: FoundationModelsClient
) -> None:
    before = {
        "requests": sample("fmbot_yandex_requests_total", endpoint="completion"),
        "retries": sample("fmbot_yandex_retries_total", endpoint="completion", reason="429"),
        "errors": sample("fmbot_yandex_errors_total", endpoint="tokenize",
                         error="BadRequestError"),
        "output": sample("fmbot_tokens_total", model="yandexgpt-lite/latest", kind="output"),
        "waits": sample("fmbot_generation_wait_seconds_count"),
    }
    fm.fail_next(429, retry_after=0, path="/completion")
    fm.queue_reply("Hello there, metrics.", chunks=3)
    messages = [ChatMessage("user", "hi")]
    snapshots = [s async for s in client.stream(messages, model="yandexgpt-lite/latest")]
    assert snapshots[-1].text == "Hello there, metrics."
    with pytest.raises(BadRequestError):
        await client.tokenize("x", model="gpt://b1gotherfolder/yandexgpt/latest")
    after_requests = sample("fmbot_yandex_requests_total", endpoint="completion")
    assert after_requests - before["requests"] == 2  # the 429 and the retry
    assert sample("fmbot_yandex_retries_total", endpoint="completion", reason="429") == (
        before["retries"] + 1
    )
    assert sample("fmbot_yandex_errors_total", endpoint="tokenize",
                  error="BadRequestError") == before["errors"] + 1
    used = snapshots[-1].usage.completion_tokens
    assert used > 0
    assert sample("fmbot_tokens_total", model="yandexgpt-lite/latest", kind="output") == (
        before["output"] + used
    )
    assert sample("fmbot_generation_wait_seconds_count") == before["waits"] + 1


async def test_telegram_calls_and_429s_by_method() -> None:
    async with TelegramServer("4242:metrics") as tg:
        bot = make_bot("4242:metrics", tg.url)
        install_telemetry(bot, Dispatcher())
        tg.add_chat(5, "private")
        calls = sample("fmbot_telegram_calls_total", method="sendMessage")
        floods = sample("fmbot_telegram_429_total", method="sendMessage")
        try:
            await bot.send_message(5, "one")
            tg.fail_next("sendMessage", 429, retry_after=1)
            with pytest.raises(TelegramRetryAfter):
                await bot.send_message(5, "two")
        finally:
            await bot.session.close()
        assert sample("fmbot_telegram_calls_total", method="sendMessage") == calls + 2
        assert sample("fmbot_telegram_429_total", method="sendMessage") == floods + 1


def test_updates_are_counted_before_every_other_middleware() -> None:
    dp = Dispatcher()

    async def existing(handler: object, event: object, data: object) -> None:
        return None

    dp.update.outer_middleware(existing)  # type: ignore[arg-type]
    before = list(dp.update.outer_middleware[:])
    install_telemetry(Bot("1:x"), dp)
    after = list(dp.update.outer_middleware[:])
    assert type(after[0]).__name__ == "UpdateMetrics"
    assert after[1:] == before, "the other middlewares keep their order"


async def test_update_counter_counts_by_kind() -> None:
    dp = Dispatcher()
    install_telemetry(Bot("1:x"), dp)
    before = sample("fmbot_updates_total", kind="message")
    update = Update.model_validate({
        "update_id": 1,
        "message": {"message_id": 1, "date": 0, "chat": {"id": 5, "type": "private"},
                    "from": {"id": 5, "is_bot": False, "first_name": "A"}, "text": "hi"},
    })
    await dp.feed_update(Bot("1:x"), update)
    assert sample("fmbot_updates_total", kind="message") == before + 1
    unknown = sample("fmbot_updates_total", kind="unknown")
    with pytest.warns(RuntimeWarning, match="Detected unknown update type"):
        await dp.feed_update(Bot("1:x"), Update(update_id=2))
    assert sample("fmbot_updates_total", kind="unknown") == unknown + 1


def test_a_label_takes_at_most_max_values() -> None:
    family = metrics.counter("fmbot_test_capped", "A label past its cap", "state")
    for i in range(metrics.MAX_VALUES + 10):
        family.child(f"state-{i}").inc()
    assert len(family._children) <= metrics.MAX_VALUES + 1
    assert sample("fmbot_test_capped_total", state="other") >= 10
    timer = metrics.histogram("fmbot_test_capped_seconds", "Timed past its cap", "tool")
    for i in range(metrics.MAX_VALUES + 10):
        timer.child(f"tool-{i}").observe(0.1)
    assert sample("fmbot_test_capped_seconds_count", tool="other") == 10


def test_a_series_declared_again_is_the_same_and_differently_refused() -> None:
    """A feature's metrics module imported twice (dropped from sys.modules, or under another
    name) declares its series again: the registry keeps one, the first."""
    first = metrics.counter("fmbot_test_twice", "Declared twice", "kind")
    assert metrics.counter("fmbot_test_twice", "Declared twice", "kind") is first
    with pytest.raises(ValueError, match="fmbot_test_twice"):
        metrics.counter("fmbot_test_twice", "Declared twice", "kind", "other")
    with pytest.raises(ValueError, match="fmbot_test_twice"):
        metrics.gauge("fmbot_test_twice", "Declared twice", "kind")
    plain = metrics.gauge("fmbot_test_plain", "No labels")
    plain.child().set(3)
    assert sample("fmbot_test_plain") == 3


async def get(url: str) -> tuple[int, str, str]:
    async with aiohttp.ClientSession() as http, http.get(url) as response:
        return response.status, response.headers.get("Content-Type", ""), await response.text()


@pytest.mark.slow
async def test_endpoints(caplog: pytest.LogCaptureFixture) -> None:
    state = {"redis": "down"}
    calls = {"database": 0}

    async def database() -> None:
        calls["database"] += 1

    async def redis() -> None:
        if state["redis"] == "down":
            raise ConnectionError("Connection refused")

    async def telegram() -> None:
        await asyncio.sleep(10)

    readiness = Readiness(
        {"database": database, "redis": redis, "telegram": telegram}, timeout=0.2, cache_for=2.0
    )
    caplog.set_level(logging.INFO, "bot.metrics.server")
    async with serve_metrics("127.0.0.1", 0, readiness) as port:
        base = f"http://127.0.0.1:{port}"
        status, kind, body = await get(f"{base}/metrics")
        assert status == 200
        assert kind.startswith("text/plain")
        assert "fmbot_turns_total" in body
        assert "process_cpu_seconds_total" in body
        assert (await get(f"{base}/healthz"))[0] == 200
        status, _, body = await get(f"{base}/readyz")
        assert status == 503
        assert "redis: ConnectionError: Connection refused" in body
        assert "telegram: no answer within 0.2 s" in body
        assert "database" not in body
        # Cached: a second probe within `cache_for` runs nothing.
        await get(f"{base}/readyz")
        assert calls["database"] == 1
        state["redis"] = "up"
        readiness.probes["telegram"] = database
        await asyncio.sleep(2.05)
        status, _, body = await get(f"{base}/readyz")
        assert (status, body) == (200, "ready\n")
    messages = [r.getMessage() for r in caplog.records]
    assert any(m.startswith("not ready: redis: ConnectionError") for m in messages)
    assert any(m.startswith("ready:") for m in messages)


async def test_readiness_turns_503_for_good_once_shutting_down(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """From SIGTERM on a balancer's health check sees the replica unready at once, whatever
    the cached result and without probing anything."""
    calls = {"database": 0}

    async def database() -> None:
        calls["database"] += 1

    state = {"stopping": False}
    readiness = Readiness(
        {"database": database}, cache_for=60.0, stopping=lambda: state["stopping"]
    )
    caplog.set_level(logging.INFO, "bot.metrics.server")
    async with serve_metrics("127.0.0.1", 0, readiness) as port:
        base = f"http://127.0.0.1:{port}"
        assert (await get(f"{base}/readyz"))[0] == 200
        state["stopping"] = True
        status, _, body = await get(f"{base}/readyz")
        assert (status, body) == (503, f"shutdown: {SHUTTING_DOWN}\n")
        assert (await get(f"{base}/readyz"))[0] == 503
        assert calls["database"] == 1
    messages = [r.getMessage() for r in caplog.records]
    assert [m for m in messages if m.startswith("not ready")] == [
        f"not ready: shutdown: {SHUTTING_DOWN}"
    ]


async def test_turn_latencies_are_observed_per_answer(sqlite_database: Database) -> None:
    """Every delivered answer observes its first visible text and its final message, from
    the turn's start: the first draft with text comes no later than the final."""
    from tests.telegram.harness import ANNA, running_app

    def count(name: str) -> float:
        return REGISTRY.get_sample_value(f"{name}_count") or 0.0

    def total(name: str) -> float:
        return REGISTRY.get_sample_value(f"{name}_sum") or 0.0

    first, final = "fmbot_turn_first_visible_seconds", "fmbot_turn_final_seconds"
    before = (count(first), count(final), total(first), total(final))
    async with running_app(sqlite_database) as h:
        h.fm.queue_reply("one two three four five six", chunks=6, interval=0.05)
        await h.send("count to six")
        await h.settle()
        assert h.texts(ANNA.id) == ["one two three four five six"]
    assert count(first) == before[0] + 1
    assert count(final) == before[1] + 1
    first_seconds, final_seconds = total(first) - before[2], total(final) - before[3]
    assert 0 < first_seconds <= final_seconds


async def test_readyz_shows_a_probes_error_without_the_secrets() -> None:
    """Issue 77: a driver's error can carry its DSN; /readyz (and the log line) show it
    scrubbed, a short secret included."""
    from bot.log import Scrubber

    async def database() -> None:
        raise OSError("cannot connect to postgresql://fmbot:db-pass-77@db:5432/fmbot as pw7")

    readiness = Readiness({"database": database}, scrub=Scrubber(["db-pass-77", "pw7"]))
    async with serve_metrics("127.0.0.1", 0, readiness) as port:
        status, _, body = await get(f"http://127.0.0.1:{port}/readyz")
    assert status == 503
    assert "db-pass-77" not in body
    assert "pw7" not in body
    assert "postgresql://fmbot:***@db:5432/fmbot as ***" in body
