"""A Responses request Yandex refuses whole for its `web_search` tool (a 403 for a missing
permission, a 400 naming the tool) is sent once more without it, keeping `file_search`, with one
WARNING naming the cause; the refusal is remembered for ten minutes, so later turns leave the
tool out at once, and then tried again. Other refusals stay errors."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from typing import Any

import pytest

from bot.foundation_models import errors
from bot.foundation_models.auth import ApiKeyAuth
from bot.foundation_models.responses import ResponsesChatModel
from bot.foundation_models.types import ChatMessage, CompletionOptions, Role
from tests.fakes.yandex.server import FakeFoundationModels
from tests.foundation_models.conftest import API_KEY, FAST_RETRY, FAST_TIMEOUTS, FOLDER

PATH = "/v1/responses"
HELLO = [ChatMessage(Role.USER, "What is new today?")]
WEB = {"type": "web_search", "search_context_size": "medium"}
FILES = {"type": "file_search", "vector_store_ids": ["vs_1"], "max_num_results": 5}
BOTH = CompletionOptions(hosted_tools=(WEB, FILES))
FORBIDDEN = (403, "Permission denied")
UNSUPPORTED = (400, "Tool web_search is not supported for model yandexgpt-lite")


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def model(fm: FakeFoundationModels, clock: Clock) -> AsyncIterator[ResponsesChatModel]:
    async with ResponsesChatModel(base_url=f"{fm.url}/v1", auth=ApiKeyAuth(API_KEY),
                                  folder_id=FOLDER, retry=FAST_RETRY, timeouts=FAST_TIMEOUTS,
                                  clock=clock) as chat:
        yield chat


def tools_sent(fm: FakeFoundationModels) -> list[list[str]]:
    return [[tool["type"] for tool in (r.json or {}).get("tools") or []]
            for r in fm.requests if r.path == PATH]


def refusals(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if "web search refused" in r.getMessage()]


async def ask(model: ResponsesChatModel, options: CompletionOptions = BOTH) -> Any:
    return [s async for s in model.stream(HELLO, model="yandexgpt-lite", options=options)][-1]


async def test_a_403_for_web_search_is_answered_without_it_and_remembered(
    fm: FakeFoundationModels, model: ResponsesChatModel, clock: Clock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING)
    fm.web_search_refused = FORBIDDEN
    fm.queue_reply("Answered without the web.")
    final = await ask(model)
    assert final.text == "Answered without the web."
    assert final.annotations == ()
    assert tools_sent(fm) == [["web_search", "file_search"], ["file_search"]]
    [line] = refusals(caplog)
    assert line.levelno == logging.WARNING
    assert "yandexgpt-lite" in line.getMessage()
    assert "ai.languageModels.user" in line.getMessage()
    assert "WEB_SEARCH" in line.getMessage()

    # Remembered: the next turns go without the tool straight away, and nothing more is logged.
    fm.queue_reply("Still without the web.")
    assert (await ask(model)).text == "Still without the web."
    assert fm.web_search_refusals == 1
    assert tools_sent(fm)[2:] == [["file_search"]]
    assert len(refusals(caplog)) == 1

    # Ten minutes on, the tool is tried again (a role given meanwhile is picked up).
    clock.now += 601
    fm.web_search_refused = None
    fm.queue_web_search(["www.rbc.ru"])
    fm.queue_reply("With the web now.")
    final = await ask(model)
    assert [a.url for a in final.annotations] == ["www.rbc.ru"]
    assert tools_sent(fm)[3:] == [["web_search", "file_search"]]


async def test_a_400_naming_the_tool_is_retried_without_it_on_complete(
    fm: FakeFoundationModels, model: ResponsesChatModel, caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING)
    fm.web_search_refused = UNSUPPORTED
    fm.queue_reply("Plain answer.")
    answer = await model.complete(HELLO, model="yandexgpt-lite",
                                  options=CompletionOptions(hosted_tools=(WEB,)))
    assert answer.text == "Plain answer."
    assert tools_sent(fm) == [["web_search"], []]
    [line] = refusals(caplog)
    assert "TEXT_MODEL" in line.getMessage()  # the model does not take the tool


async def test_other_refusals_stay_errors_and_are_not_retried(
    fm: FakeFoundationModels, model: ResponsesChatModel, caplog: pytest.LogCaptureFixture,
) -> None:
    # A 400 about something else: the request is not sent again.
    fm.web_search_refused = (400, "max_output_tokens must be positive")
    with pytest.raises(errors.BadRequestError):
        await ask(model)
    assert tools_sent(fm) == [["web_search", "file_search"]]
    # "Tools are not supported" names no tool, and the request without web_search is refused
    # too: it was not the web search's, so that error is raised and nothing is remembered.
    fm.web_search_refused = None
    fm.fail_next(400, message="Tools are not supported for this model", path=PATH, times=2)
    with pytest.raises(errors.BadRequestError):
        await ask(model)
    assert tools_sent(fm)[1:] == [["web_search", "file_search"], ["file_search"]]
    fm.queue_reply("Fine.")
    await ask(model)
    assert tools_sent(fm)[3] == ["web_search", "file_search"]  # not remembered
    del fm.requests[1:]
    # A 403 naming file search is not the web tool's.
    fm.web_search_refused = (403, "Permission denied to vector_store vs_1")
    with pytest.raises(errors.PermissionDeniedError):
        await ask(model)
    assert len(tools_sent(fm)) == 2
    # No web_search in the request: nothing to leave out.
    fm.web_search_refused = None
    with pytest.raises(errors.BadRequestError):
        await model.complete(HELLO, model="gpt://other-folder/yandexgpt-lite/latest",
                             options=CompletionOptions(hosted_tools=(FILES,)))
    assert len(tools_sent(fm)) == 3
    assert refusals(caplog) == []
