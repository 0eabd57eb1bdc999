"""Function calling on both wires, against the recorded shapes: streamed calls are never
dropped, OpenAI-compatible fragments are put together by index with `""` as absent, real ids
go back as `tool_call_id`, native calls come with TOOL_CALLS frames and whole numbers."""

from __future__ import annotations

import json
from typing import Any

import pytest
import yaml

from bot.foundation_models.auth import ApiKeyAuth
from bot.foundation_models.client import FoundationModelsClient
from bot.foundation_models.openai_compat import OpenAICompatibleChatModel
from bot.foundation_models.types import (
    ChatMessage,
    CompletionOptions,
    CompletionStatus,
    Role,
    Tool,
    ToolCall,
    ToolResult,
)
from tests.conftest import FIXTURES
from tests.fakes.yandex.server import FakeFoundationModels

CASSETTES = FIXTURES / "openai-compatible" / "test_completions"
STREAMED = ["yandexgpt", "llama", "qwen3-235b-a22b-fp8", "gemma-3-27b-it"]
FOLDER = "b1ghsjum2v37c2un8h64"
CHAT = "/v1/chat/completions"


def _tools(request: dict[str, Any]) -> tuple[Tool, ...]:
    return tuple(
        Tool(t["function"]["name"], t["function"].get("description", ""),
             t["function"].get("parameters", {}), t["function"].get("strict"))
        for t in request.get("tools", [])
    )


def _recorded_calls(body: str) -> list[tuple[str | None, str, str]]:
    """(id, name, arguments) per index, read naively from the recorded SSE body."""
    calls: dict[int, list[Any]] = {}
    for event in body.split("\n\n"):
        if not event.startswith("data: ") or event == "data: [DONE]":
            continue
        for choice in json.loads(event[6:])["choices"]:
            for fragment in choice["delta"].get("tool_calls") or []:
                call = calls.setdefault(fragment["index"], [None, "", ""])
                call[0] = call[0] or fragment.get("id") or None
                call[1] = call[1] or fragment["function"].get("name") or ""
                call[2] += fragment["function"].get("arguments") or ""
    return [tuple(calls[i]) for i in sorted(calls)]  # type: ignore[misc]


@pytest.mark.parametrize("name", STREAMED)
async def test_openai_streamed_calls_are_put_together_and_sent_back(name: str) -> None:
    path = CASSETTES / f"test_stream_function_call[{name}].yaml"
    first, second = yaml.safe_load(path.read_text())["interactions"][:2]
    request = json.loads(first["request"]["body"])
    follow_up = json.loads(second["request"]["body"])
    async with FakeFoundationModels(api_key="k", folder_id=FOLDER) as fm:
        chat = OpenAICompatibleChatModel(base_url=f"{fm.url}/v1", auth=ApiKeyAuth("k"))
        body = first["response"]["body"]["string"]
        data = body.encode()
        fm.queue_raw(CHAT, parts=[data[i:i + 61] for i in range(0, len(data), 61)],
                     content_type="text/event-stream")
        options = CompletionOptions(tools=_tools(request))
        question = ChatMessage(Role.USER, request["messages"][0]["content"])
        snaps = [s async for s in chat.stream([question], model=request["model"],
                                              options=options)]
        final = snaps[-1]
        assert final.status is CompletionStatus.TOOL_CALLS
        recorded = _recorded_calls(body)
        assert [(c.id, c.name, c.arguments) for c in final.tool_calls] == [
            (i, n, json.loads(a)) for i, n, a in recorded
        ]
        assert fm.requests[-1].json["tools"] == request["tools"] or all(
            t["function"] == r["function"]
            for t, r in zip(fm.requests[-1].json["tools"], request["tools"], strict=True)
        )
        # The follow-up: the assistant's calls and the tool's result, with the call's own id.
        recorded_result = follow_up["messages"][2]
        fm.queue_raw(CHAT, parts=[second["response"]["body"]["string"].encode()],
                     content_type="text/event-stream")
        history = [
            question,
            ChatMessage(Role.ASSISTANT, "", tool_calls=final.tool_calls),
            ChatMessage(Role.USER, "", tool_results=(
                ToolResult(final.tool_calls[0].name, recorded_result["content"],
                           final.tool_calls[0].id),
            )),
        ]
        answer = [s async for s in chat.stream(history, model=request["model"],
                                               options=options)][-1]
        assert answer.status is CompletionStatus.FINAL
        assert answer.text
        sent = fm.requests[-1].json["messages"]
        recorded_calls = follow_up["messages"][1]["tool_calls"]
        assert [(c["id"], c["function"]["name"], json.loads(c["function"]["arguments"]))
                for c in sent[1]["tool_calls"]] == [
            (c["id"], c["function"]["name"], json.loads(c["function"]["arguments"]))
            for c in recorded_calls
        ]
        assert sent[2] == {"role": "tool", "tool_call_id": recorded_result["tool_call_id"],
                           "content": recorded_result["content"]}
        await chat.aclose()


async def test_openai_fake_streams_fragments_and_whole_calls() -> None:
    async with FakeFoundationModels(api_key="k", folder_id=FOLDER) as fm:
        chat = OpenAICompatibleChatModel(base_url=f"{fm.url}/v1", auth=ApiKeyAuth("k"),
                                         folder_id=FOLDER)
        calls = [{"name": "order_status", "arguments": {"order_id": "A-1"}},
                 {"name": "weather", "arguments": {"city": "Омск", "days": 3}}]
        fm.queue_reply("Let me check.", tool_calls=calls, tool_style="fragments")
        final = [s async for s in chat.stream([ChatMessage(Role.USER, "hi")], model="qwen3")][-1]
        assert final.status is CompletionStatus.TOOL_CALLS
        assert final.text == "Let me check."
        assert [(c.name, c.arguments) for c in final.tool_calls] == [
            ("order_status", {"order_id": "A-1"}), ("weather", {"city": "Омск", "days": 3})
        ]
        assert all(c.id and c.id.startswith("chatcmpl-tool-") for c in final.tool_calls)
        assert final.tool_calls[0].id != final.tool_calls[1].id
        fm.queue_reply("", tool_calls=calls[:1], tool_style="whole")
        snaps = [s async for s in chat.stream([ChatMessage(Role.USER, "hi")], model="yandexgpt")]
        final = snaps[-1]
        assert [(c.id, c.name) for c in final.tool_calls] == [("order_status", "order_status")]
        await chat.aclose()


async def test_native_stream_ends_with_the_calls_in_order_as_whole_numbers() -> None:
    async with (
        FakeFoundationModels(api_key="k", folder_id=FOLDER) as fm,
        FoundationModelsClient(
            folder_id=FOLDER, auth=ApiKeyAuth("k"), llm_url=fm.url, operation_url=fm.url
        ) as client,
    ):
            calls = [{"name": "weather", "arguments": {"city": "Omsk", "days": 3}},
                     {"name": "weather", "arguments": {"city": "Tomsk", "days": 1,
                                                       "temps": [1.5, 2]}}]
            fm.queue_reply("Checking both", chunks=2, tool_calls=calls)
            tool = Tool("weather", "The weather", {"type": "object"})
            options = CompletionOptions(tools=(tool,), tool_choice="AUTO",
                                        parallel_tool_calls=True)
            snaps = [s async for s in client.stream([ChatMessage(Role.USER, "hi")],
                                                   model="yandexgpt", options=options)]
            sent = fm.requests[-1].json
            assert sent["tools"] == [{"function": {"name": "weather",
                                                   "description": "The weather",
                                                   "parameters": {"type": "object"}}}]
            assert sent["toolChoice"] == {"mode": "AUTO"}
            assert sent["parallelToolCalls"] is True
            assert [s.status for s in snaps[:-1]] == [CompletionStatus.PARTIAL] * 2
            assert snaps[-2].text == "Checking both"
            final = snaps[-1]
            assert final.status is CompletionStatus.TOOL_CALLS
            assert [(c.name, c.arguments, c.id) for c in final.tool_calls] == [
                ("weather", {"city": "Omsk", "days": 3}, None),
                ("weather", {"city": "Tomsk", "days": 1, "temps": [1.5, 2]}, None),
            ]
            # 5.0 on the wire (a protobuf Struct) is 5 here, typed as an int.
            assert type(final.tool_calls[0].arguments["days"]) is int
            # History: the calls and their results go back by name and order.
            history = [
                ChatMessage(Role.USER, "hi"),
                ChatMessage(Role.ASSISTANT, "", tool_calls=final.tool_calls),
                ChatMessage(Role.USER, "", tool_results=(ToolResult("weather", "sunny"),
                                                         ToolResult("weather", "rain"))),
            ]
            fm.queue_reply("Sunny in Omsk, rain in Tomsk.")
            answer = await client.complete(history, model="yandexgpt", options=options)
            assert answer.text == "Sunny in Omsk, rain in Tomsk."
            sent_messages = fm.requests[-1].json["messages"]
            assert sent_messages[1] == {"role": "assistant", "toolCallList": {"toolCalls": [
                {"functionCall": {"name": "weather", "arguments": {"city": "Omsk", "days": 3}}},
                {"functionCall": {"name": "weather",
                                  "arguments": {"city": "Tomsk", "days": 1, "temps": [1.5, 2]}}},
            ]}}
            assert sent_messages[2] == {"role": "user", "toolResultList": {"toolResults": [
                {"functionResult": {"name": "weather", "content": "sunny"}},
                {"functionResult": {"name": "weather", "content": "rain"}},
            ]}}


def test_a_call_without_an_id_is_sent_back_under_its_name() -> None:
    from bot.foundation_models.openai_wire import chat_body

    body = chat_body("m", [
        ChatMessage(Role.ASSISTANT, "", tool_calls=(ToolCall("f", {"a": 1}),)),
        ChatMessage(Role.USER, "", tool_results=(ToolResult("f", "ok"),)),
    ], None, stream=True)
    assert body["messages"][0]["tool_calls"][0]["id"] == "f"
    assert body["messages"][1]["tool_call_id"] == "f"
