"""The Responses API chat model against the fake server's `/v1/responses`: streamed text,
function calls (Yandex's ids equal to the name), the request body (whole history, `store:
false`, no `previous_response_id`), images, structured output, usage null, faults and 429."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import aclosing

import pytest

from bot.foundation_models import errors
from bot.foundation_models.auth import ApiKeyAuth
from bot.foundation_models.responses import ResponsesChatModel
from bot.foundation_models.types import (
    ChatMessage,
    CompletionOptions,
    CompletionStatus,
    Role,
    Tool,
    ToolCall,
    ToolResult,
)
from bot.testing.yandex import payloads as p
from tests.fakes.yandex.server import FakeFoundationModels
from tests.foundation_models.conftest import API_KEY, FAST_RETRY, FAST_TIMEOUTS, FOLDER

PATH = "/v1/responses"
HELLO = [ChatMessage(Role.SYSTEM, "Be brief."), ChatMessage(Role.USER, "Hello there")]


@pytest.fixture
async def model(fm: FakeFoundationModels) -> AsyncIterator[ResponsesChatModel]:
    async with ResponsesChatModel(base_url=f"{fm.url}/v1", auth=ApiKeyAuth(API_KEY),
                                  folder_id=FOLDER, retry=FAST_RETRY,
                                  timeouts=FAST_TIMEOUTS) as chat:
        yield chat


def bodies(fm: FakeFoundationModels) -> list[dict[str, object]]:
    return [r.json for r in fm.requests if r.path == PATH]


async def test_a_streamed_answer_grows_to_its_final_snapshot(
    fm: FakeFoundationModels, model: ResponsesChatModel
) -> None:
    fm.queue_reply("One two three four five six", chunks=3)
    snaps = [s async for s in model.stream(HELLO, model="yandexgpt-lite")]
    assert [s.text for s in snaps] == ["One two", "One two three four", "One two three four "
                                       "five six", "One two three four five six"]
    assert [s.status for s in snaps][-1] is CompletionStatus.FINAL
    assert all(s.status is CompletionStatus.PARTIAL for s in snaps[:-1])
    assert snaps[-1].usage.input_tokens == 4  # "Be brief." + "Hello there"
    assert snaps[-1].usage.completion_tokens == 6
    (body,) = bodies(fm)
    assert body["stream"] is True
    assert body["store"] is False
    assert "previous_response_id" not in body
    assert body["model"] == f"gpt://{FOLDER}/yandexgpt-lite/latest"
    assert body["instructions"] == "Be brief."
    assert body["input"] == [{"role": "user", "content": "Hello there"}]
    request = next(r for r in fm.requests if r.path == PATH)
    assert request.headers["Authorization"] == f"Bearer {API_KEY}"
    assert request.headers["OpenAI-Project"] == FOLDER


async def test_usage_null_is_estimated_so_budgets_still_count(
    fm: FakeFoundationModels, model: ResponsesChatModel
) -> None:
    fm.responses_usage_null = True
    fm.queue_reply("a" * 30)
    final = [s async for s in model.stream(HELLO, model="yandexgpt-lite")][-1]
    assert final.usage.completion_tokens == 10
    assert final.usage.input_tokens > 0


async def test_function_calls_come_whole_with_the_name_as_id_and_results_go_back(
    fm: FakeFoundationModels, model: ResponsesChatModel
) -> None:
    weather = Tool("get_weather", "Weather in a city",
                   {"type": "object", "properties": {"city": {"type": "string"}}})
    fm.queue_reply("", tool_calls=[{"name": "get_weather", "arguments": {"city": "Krasnoyarsk"}},
                                   {"name": "get_weather", "arguments": {"city": "Omsk"}}])
    options = CompletionOptions(tools=(weather,), tool_choice="AUTO")
    final = [s async for s in model.stream(HELLO, model="yandexgpt", options=options)][-1]
    assert final.status is CompletionStatus.TOOL_CALLS
    # Two calls of one function share Yandex's id (the name) and are still two calls.
    assert final.tool_calls == (ToolCall("get_weather", {"city": "Krasnoyarsk"}, "get_weather"),
                                ToolCall("get_weather", {"city": "Omsk"}, "get_weather"))
    history = [*HELLO, ChatMessage(Role.ASSISTANT, "", tool_calls=final.tool_calls),
               ChatMessage(Role.USER, "", tool_results=(
                   ToolResult("get_weather", "12 °C", "get_weather"),
                   ToolResult("get_weather", "9 °C", "get_weather")))]
    answer = [s async for s in model.stream(history, model="yandexgpt", options=options)][-1]
    assert answer.status is CompletionStatus.FINAL
    assert answer.text.startswith("Result: ")
    first, second = bodies(fm)
    assert first["tools"] == [{"type": "function", "name": "get_weather",
                               "description": "Weather in a city",
                               "parameters": weather.parameters}]
    assert first["tool_choice"] == "auto"
    assert second["input"][1:] == [
        {"type": "function_call", "call_id": "get_weather", "name": "get_weather",
         "arguments": '{"city": "Krasnoyarsk"}'},
        {"type": "function_call", "call_id": "get_weather", "name": "get_weather",
         "arguments": '{"city": "Omsk"}'},
        {"type": "function_call_output", "call_id": "get_weather", "output": "12 °C"},
        {"type": "function_call_output", "call_id": "get_weather", "output": "9 °C"},
    ]


async def test_complete_reads_the_final_object_and_structured_output_is_asked_for(
    fm: FakeFoundationModels, model: ResponsesChatModel
) -> None:
    schema = {"type": "object", "properties": {"ok": {"type": "boolean"}}, "required": ["ok"]}
    answer = await model.complete(HELLO, model="yandexgpt-lite",
                                  options=CompletionOptions(json_schema=schema, max_tokens=50))
    assert answer.text == '{"ok": false}'
    assert answer.status is CompletionStatus.FINAL
    (body,) = bodies(fm)
    assert body["text"] == {"format": {"type": "json_schema", "name": "answer",
                                       "schema": schema}}
    assert body["max_output_tokens"] == 50
    assert body["stream"] is False


async def test_a_truncated_answer_ends_incomplete(
    fm: FakeFoundationModels, model: ResponsesChatModel
) -> None:
    fm.queue_reply("cut short here", status="ALTERNATIVE_STATUS_TRUNCATED_FINAL")
    final = [s async for s in model.stream(HELLO, model="yandexgpt-lite")][-1]
    assert final.status is CompletionStatus.TRUNCATED_FINAL
    assert final.text == "cut short here"


async def test_images_go_as_input_image_parts(
    fm: FakeFoundationModels, model: ResponsesChatModel
) -> None:
    photo = ChatMessage(Role.USER, "What is this?", images=(p.tiny_jpeg(),))
    final = [s async for s in model.stream([photo], model="gemma-3-27b-it")][-1]
    assert "image 8x8" in final.text
    (body,) = bodies(fm)
    parts = body["input"][0]["content"]
    assert parts[0] == {"type": "input_text", "text": "What is this?"}
    assert parts[1]["type"] == "input_image"
    assert parts[1]["image_url"].startswith("data:image/jpeg;base64,")
    assert len(fm.images_received) == 1


@pytest.mark.parametrize("fault", ["error_line", "failed"])
async def test_an_error_event_mid_stream_keeps_the_partial_text(
    fm: FakeFoundationModels, model: ResponsesChatModel, fault: str
) -> None:
    fm.queue_reply("alpha beta gamma delta", chunks=4, fault=fault, fault_after=2,
                   error_grpc=13, error_message="backend fell over")
    with pytest.raises(errors.APIError) as caught:
        _ = [s async for s in model.stream(HELLO, model="yandexgpt-lite")]
    assert caught.value.partial_text == "alpha beta"
    assert "backend fell over" in caught.value.message


async def test_a_quota_error_event_is_a_rate_limit(
    fm: FakeFoundationModels, model: ResponsesChatModel
) -> None:
    fm.queue_reply("alpha beta", chunks=2, fault="error_line", fault_after=1)
    with pytest.raises(errors.RateLimitError):
        _ = [s async for s in model.stream(HELLO, model="yandexgpt-lite")]


@pytest.mark.parametrize("fault", ["cut", "malformed", "drop"])
async def test_a_broken_stream_is_a_stream_error(
    fm: FakeFoundationModels, model: ResponsesChatModel, fault: str
) -> None:
    fm.queue_reply("alpha beta gamma", chunks=3, fault=fault, fault_after=1)
    with pytest.raises(errors.StreamError) as caught:
        _ = [s async for s in model.stream(HELLO, model="yandexgpt-lite")]
    assert caught.value.partial_text == "alpha"


async def test_429_before_the_stream_is_retried(
    fm: FakeFoundationModels, model: ResponsesChatModel
) -> None:
    fm.fail_next(429, path=PATH)
    final = [s async for s in model.stream(HELLO, model="yandexgpt-lite")][-1]
    assert final.text == "Echo: Hello there"
    assert [r.path for r in fm.requests].count(PATH) == 2


async def test_closing_the_stream_early_disconnects(
    fm: FakeFoundationModels, model: ResponsesChatModel
) -> None:
    fm.queue_reply("one two three four five six seven eight", chunks=8, interval=0.05)
    async with aclosing(model.stream(HELLO, model="yandexgpt-lite")) as stream:
        async for snapshot in stream:
            if snapshot.text:
                break
    await fm_wait_disconnect(fm)
    assert fm.active_generations == 0


async def fm_wait_disconnect(fm: FakeFoundationModels) -> None:
    import asyncio

    for _ in range(200):
        if fm.stream_disconnects:
            return
        await asyncio.sleep(0.01)
    raise AssertionError("the fake never saw the client go")
