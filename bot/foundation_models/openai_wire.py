"""Wire models and request bodies of the OpenAI-compatible chat API (never leave the package).

Shapes from the recorded cassettes (fixtures/foundation-models/openai-compatible) and
https://yandex.cloud/en/docs/ai-studio/concepts/openai-compatibility.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from bot.foundation_models.errors import InvalidRequestError
from bot.foundation_models.types import ChatMessage, CompletionOptions


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class FunctionCall(_Model):
    name: str = ""
    """The function to call."""
    arguments: str = ""
    """Arguments as a JSON string."""


class ToolCall(_Model):
    id: str = ""
    """Call id (Yandex models repeat the function name)."""
    function: FunctionCall = Field(default_factory=FunctionCall)
    """The call."""


class ChatMessageBody(_Model):
    role: str = "assistant"
    """Author role."""
    content: str | None = None
    """Text of the message (null with tool calls)."""
    tool_calls: list[ToolCall] | None = None
    """Tool calls asked for."""


class CompletionTokensDetails(_Model):
    reasoning_tokens: int = 0
    """Tokens of hidden reasoning (gpt-oss), inside `completion_tokens`."""


class ChatUsage(_Model):
    prompt_tokens: int = 0
    """Prompt tokens."""
    completion_tokens: int = 0
    """Generated tokens."""
    total_tokens: int = 0
    """Both."""
    completion_tokens_details: CompletionTokensDetails | None = None
    """Reasoning tokens, when the model reasoned."""


class Choice(_Model):
    index: int = 0
    """Choice number (always 0 here)."""
    message: ChatMessageBody = Field(default_factory=ChatMessageBody)
    """The answer."""
    finish_reason: str | None = None
    """stop | length | content_filter | tool_calls."""


class ChatCompletion(_Model):
    id: str = ""
    """chatcmpl-..."""
    model: str = ""
    """Model URI echoed back."""
    choices: list[Choice] = Field(default_factory=list)
    """One choice."""
    usage: ChatUsage | None = None
    """Token counts."""


class DeltaFunction(_Model):
    name: str | None = None
    """The function's name: whole in the call's first fragment, `""` in the rest (Qwen)."""
    arguments: str | None = None
    """A fragment of the arguments' JSON text, to append."""


class DeltaToolCall(_Model):
    index: int = 0
    """Which call this fragment belongs to (fragments of one call share it)."""
    id: str | None = None
    """The call's id on its first fragment; `""` on the rest (Qwen, Gemma)."""
    type: str | None = None
    """`function`, or `""` on later fragments."""
    function: DeltaFunction = Field(default_factory=DeltaFunction)
    """The name and an arguments fragment."""


class Delta(_Model):
    role: str | None = None
    """Set on the first chunk."""
    content: str | None = None
    """New text."""
    tool_calls: list[DeltaToolCall] | None = None
    """Tool call fragments: YandexGPT sends each call whole in one chunk, Qwen and Gemma in
    pieces accumulated by `index`
    (https://platform.openai.com/docs/api-reference/chat-streaming)."""


class ChunkChoice(_Model):
    index: int = 0
    """Choice number."""
    delta: Delta = Field(default_factory=Delta)
    """What this chunk adds."""
    finish_reason: str | None = None
    """Set on the last content chunk."""


class ChatChunk(_Model):
    model: str = ""
    """Model URI echoed back."""
    choices: list[ChunkChoice] = Field(default_factory=list)
    """Empty on the trailing usage chunk."""
    usage: ChatUsage | None = None
    """On the trailing usage chunk only (some models send none)."""


def message_body(message: ChatMessage) -> dict[str, Any]:
    if message.tool_calls:
        return {
            "role": "assistant",
            # Text the model wrote before its calls stays with them (null when none).
            "content": message.text or None,
            "tool_calls": [
                # The call's own id; YandexGPT's ids are the function's name, so a call
                # without one (stored from the native wire) falls back to that.
                {"id": call.id or call.name, "type": "function",
                 "function": {"name": call.name,
                              "arguments": json.dumps(call.arguments, ensure_ascii=False)}}
                for call in message.tool_calls
            ],
        }
    if message.images:
        # https://yandex.cloud/en/docs/ai-studio/operations/generation/multimodels-request:
        # images only as base64 `data:` URLs in `image_url` parts.
        parts: list[dict[str, Any]] = [{"type": "text", "text": message.text}]
        parts.extend(
            {"type": "image_url",
             "image_url": {"url": "data:image/jpeg;base64," + base64.b64encode(image).decode()}}
            for image in message.images
        )
        return {"role": str(message.role), "content": parts}
    return {"role": str(message.role), "content": message.text}


def chat_body(
    model: str, messages: Sequence[ChatMessage], options: CompletionOptions | None, *,
    stream: bool,
) -> dict[str, Any]:
    if not messages:
        raise InvalidRequestError("a completion needs at least one message")
    options = options or CompletionOptions()
    body: dict[str, Any] = {"model": model, "messages": [], "stream": stream}
    for message in messages:
        if message.tool_results:
            body["messages"].extend(
                {"role": "tool", "tool_call_id": result.call_id or result.name,
                 "content": result.content}
                for result in message.tool_results
            )
        else:
            body["messages"].append(message_body(message))
    if options.temperature is not None:
        body["temperature"] = options.temperature
    if options.max_tokens is not None:
        body["max_tokens"] = options.max_tokens
    if options.reasoning_effort is not None:
        body["reasoning_effort"] = options.reasoning_effort
    if options.tools:
        body["tools"] = [
            {"type": "function", "function": {
                "name": t.name, "description": t.description, "parameters": t.parameters,
                **({"strict": t.strict} if t.strict is not None else {}),
            }}
            for t in options.tools
        ]
    if options.tool_choice is not None:
        body["tool_choice"] = options.tool_choice.lower()
    if options.parallel_tool_calls is not None:
        body["parallel_tool_calls"] = options.parallel_tool_calls
    if options.json_schema is not None:
        body["response_format"] = {
            "type": "json_schema", "json_schema": {"name": "answer", "schema": options.json_schema}
        }
    elif options.json_object:
        body["response_format"] = {"type": "json_object"}
    return body
