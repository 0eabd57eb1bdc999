"""The OpenAI-compatible chat model: recorded cassettes replayed over real HTTP, and the fake's
SSE endpoint for faults and early close."""

from __future__ import annotations

import itertools
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.foundation_models import errors
from bot.foundation_models.auth import ApiKeyAuth
from bot.foundation_models.openai_compat import OpenAICompatibleChatModel
from bot.foundation_models.types import ChatMessage, CompletionOptions, CompletionStatus, Role
from tests.conftest import FIXTURES
from tests.fakes.yandex.server import FakeFoundationModels
from tests.foundation_models.conftest import API_KEY, FAST_RETRY, FOLDER

CASSETTES = FIXTURES / "openai-compatible" / "test_completions"
FILES = sorted(p for p in CASSETTES.glob("*.yaml") if "multimodal" not in p.name)
CHAT = "/v1/chat/completions"


@pytest.fixture
async def model(fm: FakeFoundationModels) -> AsyncIterator[OpenAICompatibleChatModel]:
    chat = OpenAICompatibleChatModel(base_url=f"{fm.url}/v1", auth=ApiKeyAuth(API_KEY),
                                     folder_id=FOLDER, retry=FAST_RETRY)
    yield chat
    await chat.aclose()


def sse_text(body: str) -> tuple[str, str | None]:
    """Deltas joined and the finish reason, read naively from the recorded SSE body."""
    text, finish = "", None
    for event in body.split("\n\n"):
        if event.startswith("data: ") and event != "data: [DONE]":
            chunk = json.loads(event[6:])
            for choice in chunk["choices"]:
                text += choice["delta"].get("content") or ""
                finish = choice.get("finish_reason") or finish
    return text, finish


def messages_of(body: dict[str, Any]) -> list[ChatMessage] | None:
    out = []
    for m in body["messages"]:
        content = m.get("content")
        if m["role"] not in ("system", "user", "assistant") or not isinstance(content, str):
            return None
        out.append(ChatMessage(Role(m["role"]), m["content"]))
    return out


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
async def test_cassette_replay(path: Path) -> None:
    interactions = yaml.safe_load(path.read_bytes())["interactions"]  # noqa: ASYNC240
    async with FakeFoundationModels(api_key="k", folder_id="b1ghsjum2v37c2un8h64") as fm:
        chat = OpenAICompatibleChatModel(base_url=f"{fm.url}/v1", auth=ApiKeyAuth("k"))
        replayed = 0
        for interaction in interactions:
            request = json.loads(interaction["request"]["body"])
            messages = messages_of(request)
            if messages is None or request.get("tools"):
                continue  # tool-result turns and tool schemas are the native API's business
            body = interaction["response"]["body"]["string"]
            data = body.encode()
            parts = [data[i : i + 97] for i in range(0, len(data), 97)]
            content_type = interaction["response"]["headers"]["content-type"][0]
            fm.queue_raw(CHAT, parts=parts, content_type=content_type)
            options = CompletionOptions(temperature=request.get("temperature"))
            if request["stream"]:
                snaps = [s async for s in chat.stream(messages, model=request["model"],
                                                      options=options)]
                text, _ = sse_text(body)
                assert snaps[-1].text == text
                assert snaps[-1].is_final
                assert all(b.text.startswith(a.text) for a, b in itertools.pairwise(snaps))
            else:
                answer = await chat.complete(messages, model=request["model"], options=options)
                recorded = json.loads(body)
                assert answer.text == recorded["choices"][0]["message"]["content"]
                assert answer.usage.total_tokens == recorded["usage"]["total_tokens"]
            sent = fm.requests[-1]
            assert sent.json["model"] == request["model"]
            assert sent.json["messages"] == request["messages"]
            assert sent.json["stream"] == request["stream"]
            assert sent.headers["Authorization"] == "Bearer k"
            replayed += 1
        await chat.aclose()
    if not any(json.loads(i["request"]["body"]).get("tools") for i in interactions):
        assert replayed == len(interactions)


async def test_tool_call_cassettes_parse() -> None:
    """Streamed tool calls end with TOOL_CALLS; non-streamed ones carry the calls."""
    for name, stream in (("test_stream_function_call[yandexgpt].yaml", True),
                         ("test_function_call.yaml", False)):
        first = yaml.safe_load((CASSETTES / name).read_text())["interactions"][0]
        async with FakeFoundationModels(api_key="k", folder_id="b1ghsjum2v37c2un8h64") as fm:
            chat = OpenAICompatibleChatModel(base_url=f"{fm.url}/v1", auth=ApiKeyAuth("k"))
            fm.queue_raw(CHAT, parts=[first["response"]["body"]["string"].encode()])
            request = json.loads(first["request"]["body"])
            messages = [ChatMessage(Role.USER, request["messages"][0]["content"])]
            if stream:
                snaps = [s async for s in chat.stream(messages, model=request["model"])]
                assert snaps[-1].status is CompletionStatus.TOOL_CALLS
            else:
                answer = await chat.complete(messages, model=request["model"])
                assert answer.status is CompletionStatus.TOOL_CALLS
                assert answer.tool_calls
                assert answer.tool_calls[0].arguments
            await chat.aclose()


async def test_fake_sse_stream_and_short_names(
    fm: FakeFoundationModels, model: OpenAICompatibleChatModel
) -> None:
    fm.queue_reply("one two three four", chunks=4, status="ALTERNATIVE_STATUS_TRUNCATED_FINAL")
    snaps = [s async for s in model.stream([ChatMessage(Role.USER, "hi")], model="qwen3-235b")]
    assert [s.text for s in snaps] == ["one", "one two", "one two three", "one two three four",
                                       "one two three four"]
    assert snaps[-1].status is CompletionStatus.TRUNCATED_FINAL
    assert snaps[-1].usage.completion_tokens == 4
    assert fm.requests[-1].json["model"] == f"gpt://{FOLDER}/qwen3-235b/latest"
    answer = await model.complete([ChatMessage(Role.USER, "hi")], model="qwen3-235b")
    assert answer.text == "Echo: hi"


async def test_sse_faults(fm: FakeFoundationModels, model: OpenAICompatibleChatModel) -> None:
    fm.queue_reply("a b c", chunks=3, fault="malformed", fault_after=1)
    with pytest.raises(errors.StreamError) as info:
        [s async for s in model.stream([ChatMessage(Role.USER, "hi")], model="m")]
    assert info.value.partial_text == "a"
    fm.queue_reply("a b c", chunks=3, fault="cut", fault_after=2)
    with pytest.raises(errors.StreamError, match="finish"):
        [s async for s in model.stream([ChatMessage(Role.USER, "hi")], model="m")]
    fm.fail_next(429, retry_after=0)
    answer = await model.complete([ChatMessage(Role.USER, "hi")], model="m")
    assert answer.text == "Echo: hi"
    fm.queue_raw(CHAT, parts=[b'data: {"error": {"message": "quota"}}\n\n'],
                 content_type="text/event-stream")
    with pytest.raises(errors.StreamError, match="quota"):
        [s async for s in model.stream([ChatMessage(Role.USER, "hi")], model="m")]
