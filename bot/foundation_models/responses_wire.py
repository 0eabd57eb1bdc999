"""Request bodies and answer parsing of Yandex AI Studio's Responses API (`POST /v1/responses`).

Shapes from https://yandex.cloud/en/docs/ai-studio/responses/createResponse and the guides
listed in docs/responses-wire.md. fmbot owns the conversation, so every request carries the
whole prompt as `input` items, `store: false` and no `previous_response_id`.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Sequence
from typing import Any

from bot.foundation_models.errors import InvalidRequestError
from bot.foundation_models.types import (
    ChatMessage,
    CompletionOptions,
    CompletionStatus,
    Role,
    ToolCall,
    Usage,
)

#: `incomplete_details.reason` -> the status the rest of fmbot knows.
INCOMPLETE = {
    "max_output_tokens": CompletionStatus.TRUNCATED_FINAL,
    "content_filter": CompletionStatus.CONTENT_FILTER,
}


def _content(message: ChatMessage) -> str | list[dict[str, Any]]:
    if not message.images:
        return message.text
    # Images go as base64 `data:` URLs in `input_image` parts, after the text part.
    parts: list[dict[str, Any]] = [{"type": "input_text", "text": message.text}]
    parts.extend(
        {"type": "input_image",
         "image_url": "data:image/jpeg;base64," + base64.b64encode(image).decode()}
        for image in message.images
    )
    return parts


def input_items(messages: Sequence[ChatMessage]) -> tuple[str, list[dict[str, Any]]]:
    """(`instructions`, `input`): leading system messages become the instructions; the rest
    are input items in order (a later system message stays a `system` item)."""
    instructions: list[str] = []
    items: list[dict[str, Any]] = []
    for message in messages:
        if message.role is Role.SYSTEM and not items:
            instructions.append(message.text)
        elif message.tool_results:
            items.extend(
                {"type": "function_call_output", "call_id": result.call_id or result.name,
                 "output": result.content}
                for result in message.tool_results
            )
        elif message.tool_calls:
            if message.text:
                items.append({"role": "assistant", "content": message.text})
            items.extend(
                # Yandex's call ids repeat the function's name; a call stored from the
                # native wire has none, so the name stands in for it.
                {"type": "function_call", "call_id": call.id or call.name, "name": call.name,
                 "arguments": json.dumps(call.arguments, ensure_ascii=False)}
                for call in message.tool_calls
            )
        else:
            items.append({"role": str(message.role), "content": _content(message)})
    return "\n\n".join(instructions), items


def response_body(
    model: str, messages: Sequence[ChatMessage], options: CompletionOptions | None, *,
    stream: bool,
) -> dict[str, Any]:
    if not messages:
        raise InvalidRequestError("a completion needs at least one message")
    options = options or CompletionOptions()
    instructions, items = input_items(messages)
    if not items:
        # Only instructions: the API wants some input, so the last one is sent as the user's.
        items, instructions = [{"role": "user", "content": instructions}], ""
    body: dict[str, Any] = {"model": model, "input": items, "stream": stream, "store": False}
    if instructions:
        body["instructions"] = instructions
    if options.temperature is not None:
        body["temperature"] = options.temperature
    if options.max_tokens is not None:
        body["max_output_tokens"] = options.max_tokens
    if options.tools or options.hosted_tools:
        body["tools"] = [
            {"type": "function", "name": t.name, "description": t.description,
             "parameters": t.parameters, **({"strict": t.strict} if t.strict is not None else {})}
            for t in options.tools
        ] + [dict(tool) for tool in options.hosted_tools]
    if options.tool_choice_function:
        body["tool_choice"] = {"type": "function", "name": options.tool_choice_function}
    elif options.tool_choice is not None:
        body["tool_choice"] = options.tool_choice.lower()
    if options.parallel_tool_calls is not None:
        body["parallel_tool_calls"] = options.parallel_tool_calls
    if options.json_schema is not None:
        body["text"] = {"format": {"type": "json_schema", "name": "answer",
                                   "schema": options.json_schema}}
    elif options.json_object:
        body["text"] = {"format": {"type": "json_object"}}
    return body


def usage_of(raw: Any, *, estimate_input: int = 0, text: str = "") -> Usage:
    """Token counts of a finished response. Yandex may send `usage: null` (its own
    function-calling example does): then the counts are estimated (a token per 3 characters)
    so that budgets and /stats still see the turn."""
    if not isinstance(raw, dict):
        output = len(text) // 3
        return Usage(input_tokens=estimate_input, completion_tokens=output,
                     total_tokens=estimate_input + output)
    details = raw.get("output_tokens_details")
    reasoning = details.get("reasoning_tokens") if isinstance(details, dict) else 0
    prompt, output = int(raw.get("input_tokens") or 0), int(raw.get("output_tokens") or 0)
    return Usage(input_tokens=prompt, completion_tokens=output,
                 total_tokens=int(raw.get("total_tokens") or prompt + output),
                 reasoning_tokens=int(reasoning or 0))


def arguments_of(text: str) -> dict[str, Any]:
    try:
        value = json.loads(text) if text else {}
    except ValueError:
        return {"_raw": text}
    return value if isinstance(value, dict) else {"_value": value}


def outputs_of(response: dict[str, Any]) -> tuple[str, tuple[ToolCall, ...]]:
    """The text and the function calls of a finished response's `output` items."""
    texts: list[str] = []
    calls: list[ToolCall] = []
    for item in response.get("output") or []:
        if not isinstance(item, dict):
            continue
        if item.get("type") == "function_call":
            calls.append(ToolCall(str(item.get("name") or ""),
                                  arguments_of(str(item.get("arguments") or "")),
                                  str(item.get("call_id") or item.get("name") or "") or None))
        elif item.get("type") == "message":
            texts.extend(str(part.get("text") or "") for part in item.get("content") or []
                         if isinstance(part, dict) and part.get("type") == "output_text")
    return "".join(texts), tuple(call for call in calls if call.name)


def status_of(response: dict[str, Any], has_calls: bool) -> CompletionStatus:
    if response.get("status") == "incomplete":
        details = response.get("incomplete_details")
        reason = details.get("reason") if isinstance(details, dict) else None
        return INCOMPLETE.get(str(reason), CompletionStatus.TRUNCATED_FINAL)
    return CompletionStatus.TOOL_CALLS if has_calls else CompletionStatus.FINAL


def estimate_tokens(body: dict[str, Any]) -> int:
    """A conservative prompt size when the API reports none (a token per 3 characters)."""
    size = len(str(body.get("instructions") or ""))
    for item in body.get("input") or []:
        content = item.get("content") if "content" in item else item.get("output") or ""
        if isinstance(content, list):
            size += sum(len(str(part.get("text") or "")) for part in content)
        else:
            size += len(str(content))
    return size // 3
