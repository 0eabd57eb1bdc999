"""Every recorded REST exchange in tests/fixtures/foundation-models/rest/ replayed over real
HTTP through the fake server: the client must send the recorded request (fields the SDK left at
defaults aside) and read the recorded answer."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from bot.foundation_models.client import FoundationModelsClient
from bot.foundation_models.types import (
    ChatMessage,
    CompletionOptions,
    PollPolicy,
    Role,
    Tool,
    ToolCall,
    ToolResult,
)
from tests.conftest import FIXTURES
from tests.fakes.yandex.server import FakeFoundationModels

REST = FIXTURES / "rest"
FILES = sorted(REST.rglob("*.json"))
FAST = PollPolicy(initial=0.001, max_interval=0.005, deadline=5)


def test_all_fixture_files_are_replayed() -> None:
    assert len(FILES) >= 16, "fixtures missing"


def to_message(data: dict[str, Any]) -> ChatMessage:
    calls = tuple(
        ToolCall(c["functionCall"]["name"], c["functionCall"].get("arguments", {}))
        for c in (data.get("toolCallList") or {}).get("toolCalls", [])
    )
    results = tuple(
        ToolResult(r["functionResult"]["name"], r["functionResult"]["content"])
        for r in (data.get("toolResultList") or {}).get("toolResults", [])
    )
    return ChatMessage(Role(data["role"]), data.get("text", ""), calls, results)


def to_options(request: dict[str, Any]) -> CompletionOptions:
    tools = tuple(
        Tool(t["function"]["name"], t["function"].get("description", ""),
             t["function"].get("parameters", {}), t["function"].get("strict"))
        for t in request.get("tools", [])
    )
    choice = request.get("toolChoice") or {}
    return CompletionOptions(
        tools=tools,
        tool_choice=choice.get("mode"),
        tool_choice_function=choice.get("functionName"),
        parallel_tool_calls=request.get("parallelToolCalls"),
        json_object=bool(request.get("jsonObject")),
        json_schema=(request.get("jsonSchema") or {}).get("schema"),
    )


def assert_sent(sent: dict[str, Any], recorded: dict[str, Any]) -> None:
    for key, value in recorded.items():
        if key == "completionOptions":
            assert value.items() <= sent[key].items()
        else:
            assert sent[key] == value, key


def queue(fm: FakeFoundationModels, exchange: dict[str, Any]) -> None:
    if "ndjson" in exchange:
        parts = [json.dumps(line).encode() + b"\n" for line in exchange["ndjson"]]
    else:
        parts = [json.dumps(exchange["body"]).encode()]
    fm.queue_raw(exchange["path"], parts=parts, status=exchange["status"])


async def replay_completion(client: FoundationModelsClient, ex: dict[str, Any]) -> None:
    request = ex["request"]
    messages = [to_message(m) for m in request["messages"]]
    options = to_options(request)
    results = [line["result"] for line in ex["ndjson"]]
    alternatives = [r["alternatives"][0] for r in results]
    if request["completionOptions"].get("stream"):
        snaps = [s async for s in client.stream(messages, model=request["modelUri"],
                                                options=options)]
        expected = [a["message"].get("text", "").rstrip("\ufffd") for a in alternatives]
        assert [s.text for s in snaps] == expected
        assert snaps[-1].usage.completion_tokens == int(results[-1]["usage"]["completionTokens"])
        assert snaps[-1].is_final
        return
    answer = await client.complete(messages, model=request["modelUri"], options=options)
    final = alternatives[-1]
    assert answer.status.value == final["status"].removeprefix("ALTERNATIVE_STATUS_")
    assert answer.text == final["message"].get("text", "")
    assert answer.usage.total_tokens == int(results[-1]["usage"]["totalTokens"])
    assert answer.model_version == results[-1]["modelVersion"]
    recorded_calls = (final["message"].get("toolCallList") or {}).get("toolCalls", [])
    assert [(c.name, c.arguments) for c in answer.tool_calls] == [
        (c["functionCall"]["name"], c["functionCall"]["arguments"]) for c in recorded_calls
    ]


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(REST)))
async def test_replay(path: Path) -> None:
    exchanges: list[dict[str, Any]] = json.loads(path.read_bytes())["exchanges"]  # noqa: ASYNC240
    async with FakeFoundationModels(api_key="k", folder_id="b1ghsjum2v37c2un8h64") as fm:
        for exchange in exchanges:
            queue(fm, exchange)
        from bot.foundation_models.auth import ApiKeyAuth

        async with FoundationModelsClient(
            folder_id="b1ghsjum2v37c2un8h64", auth=ApiKeyAuth("k"), llm_url=fm.url,
            operation_url=fm.url,
        ) as client:
            await replay(client, fm, exchanges)
        assert not fm.raw, "some recorded answers were not asked for"
        sent = [r for r in fm.requests if r.method == "POST"]
        recorded = [e for e in exchanges if e["method"] == "POST"]
        assert len(sent) == len(recorded)
        for request, exchange in zip(sent, recorded, strict=True):
            if exchange["path"] != "/foundationModels/v1/imageGenerationAsync":
                assert_sent(request.json, exchange["request"])
        polls = [r.path for r in fm.requests if r.method == "GET"]
        assert polls == [e["path"] for e in exchanges if e["method"] == "GET"]


async def replay(
    client: FoundationModelsClient, fm: FakeFoundationModels, exchanges: list[dict[str, Any]]
) -> None:
    for ex in exchanges:
        request, method = ex.get("request", {}), ex["path"].rsplit("/", 1)[-1]
        if method == "completion":
            await replay_completion(client, ex)
        elif method == "tokenizeCompletion":
            count = await client.tokenize_completion(
                [to_message(m) for m in request["messages"]], model=request["modelUri"])
            assert count == len(ex["body"]["tokens"])
        elif method == "completionAsync":
            op = await client.completion_async(
                [to_message(m) for m in request["messages"]], model=request["modelUri"])
            answer = await client.wait_for_completion(op.id, policy=FAST)
            last = exchanges[-1]["body"]["response"]["alternatives"][0]["message"]["text"]
            assert answer.text == last
        elif method == "imageGenerationAsync":
            op = await client.start_image_generation(
                request["messages"][0]["text"], model=request["modelUri"])
            image = await client.wait_for_image(op.id, policy=FAST)
            assert len(image) == 1_627_801
            assert image.endswith(b"\xff\xd9")
        elif method == "textEmbedding":
            vector = await client.embed(request["text"], model=request["modelUri"])
            assert vector == ex["body"]["embedding"]
            assert len(vector) == 256
        elif method == "fewShotTextClassification":
            predictions = await client.classify_few_shot(
                request["text"], labels=request["labels"], model=request["modelUri"],
                samples=[(s["text"], s["label"]) for s in request.get("samples", [])])
            assert [(p.label, p.confidence) for p in predictions] == [
                (p["label"], p["confidence"]) for p in ex["body"]["predictions"]]
        elif method == "textClassification":
            predictions = await client.classify(request["text"], model=request["modelUri"])
            assert predictions[0].label == ex["body"]["predictions"][0]["label"]
        elif ex["method"] == "GET":
            continue  # polls are made by the waits above
        else:
            raise AssertionError(f"no replay for {ex['path']}")
