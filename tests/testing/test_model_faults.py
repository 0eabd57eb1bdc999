"""The test kit's model faults, through `BotTester`: a refused request retried (429 with
Retry-After), a streamed answer that breaks off (cut, malformed, dropped, stalled, an error
line) or is stopped by the content filter, and what the user sees each time. The wire is the
kit's fake Foundation Models service (bot/testing/yandex), the one fmbot's process tests serve
over loopback HTTP."""

from __future__ import annotations

import pytest

from bot import App
from bot.testing import BotTester, EchoModel

pytestmark = [pytest.mark.timeout(60)]

QUESTION = "Tell me a long story about seven calm rivers please"
COMPLETION = "/foundationModels/v1/completion"


def completions(model: EchoModel) -> list[int]:
    return [r.status for r in model.service.requests if r.path == COMPLETION]


async def test_a_refused_request_is_retried_and_answered() -> None:
    model = EchoModel()
    async with BotTester(App(env_file=None), model=model) as tester:
        model.fail_next(429, retry_after=0)
        reply = await tester.user("Anna").says(QUESTION)
    assert reply.text == QUESTION
    assert reply.status == "complete"
    assert completions(model) == [429, 200]


@pytest.mark.slow
@pytest.mark.parametrize("how", ["cut", "malformed", "drop", "stall"])
async def test_a_broken_stream_keeps_what_was_said_and_says_it_failed(how: str) -> None:
    model = EchoModel()
    async with BotTester(App(env_file=None), model=model) as tester:
        model.break_next(how, after=1, seconds=0.05)
        reply = await tester.user("Anna").says(QUESTION)
    first, _, notice = reply.text.partition("\n\n")
    assert first == "Tell me a"  # the first of the three cumulative lines
    assert notice == "Something went wrong while answering. Please try again."
    assert reply.status == "failed"
    assert completions(model) == [200]


async def test_a_quota_line_mid_stream_says_so() -> None:
    model = EchoModel()
    async with BotTester(App(env_file=None), model=model) as tester:
        model.break_next("error_line")
        reply = await tester.user("Anna").says(QUESTION)
    assert "quota reached" in reply.text
    assert reply.status == "failed"


async def test_the_content_filter_is_named() -> None:
    model = EchoModel()
    async with BotTester(App(env_file=None), model=model) as tester:
        model.filter_next()
        reply = await tester.user("Anna").says(QUESTION)
        again = await tester.user("Bob").says("hello")
    assert reply.text == "The model declined to answer this (content filter). Try rephrasing."
    assert reply.status == "failed"
    assert again.text == "hello"  # one answer only


async def test_an_unknown_fault_is_refused() -> None:
    with pytest.raises(ValueError, match="none of"):
        EchoModel().break_next("explode")


async def test_a_quiet_model_is_waited_out_for_the_idle_timeout_as_in_production() -> None:
    """The tester's model clients are timed as the bot's own: a model quiet for longer than
    httpx's 5-second default read timeout is waited for until YANDEX_IDLE_TIMEOUT, then the
    user is told the model took too long. (With a bare `httpx.AsyncClient` the tester broke
    the stream off at 5 s: "something went wrong".) Real time, not looptime's clock: the
    tester's reads run on aiosqlite's thread, which looptime's clock jumps past."""
    model = EchoModel()
    settings = {"YANDEX_IDLE_TIMEOUT": 6}
    async with BotTester(App(env_file=None), model=model, settings=settings) as tester:
        model.break_next("stall", after=1, seconds=10)
        reply = await tester.user("Anna").says(QUESTION)
    assert reply.text == "Tell me a\n\nThe model took too long to answer. Please try again."
    assert reply.status == "failed"
