"""One streamed chunk of the native API read into a Snapshot: the fast path for the common
shape (a cumulative text, a status, maybe usage) and the checked one for the rest."""

from __future__ import annotations

import json
from typing import Any

from bot.foundation_models.types import Completion, CompletionStatus, Snapshot, ToolCall, Usage
from bot.foundation_models.wire import CompletionResult

GRPC_TO_HTTP = {3: 400, 4: 504, 5: 404, 7: 403, 8: 429, 12: 501, 13: 500, 14: 503, 16: 401}


def status_of(value: str) -> CompletionStatus:
    try:
        return CompletionStatus(value.removeprefix("ALTERNATIVE_STATUS_"))
    except ValueError:
        return CompletionStatus.UNSPECIFIED


def usage_of(result: CompletionResult) -> Usage:
    wire = result.usage
    details = wire.completion_tokens_details
    return Usage(
        input_tokens=wire.input_text_tokens,
        completion_tokens=wire.completion_tokens,
        total_tokens=wire.total_tokens,
        reasoning_tokens=details.reasoning_tokens if details else 0,
    )


def tool_calls_of(result: CompletionResult) -> tuple[ToolCall, ...]:
    """The native calls, in order (no ids: results are matched by name and order).
    Whole-number floats become ints: `arguments` is a protobuf Struct, where every number is
    a double, so `5` comes back as `5.0` (reference §2.5)."""
    if not result.alternatives or result.alternatives[0].message.tool_call_list is None:
        return ()
    return tuple(
        ToolCall(
            name=item.function_call.name, arguments=_whole(dict(item.function_call.arguments))
        )
        for item in result.alternatives[0].message.tool_call_list.tool_calls
        if item.function_call is not None
    )


def _whole(value: Any) -> Any:
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        return int(value)
    if isinstance(value, dict):
        return {key: _whole(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_whole(item) for item in value]
    return value


def snapshot_of(result: CompletionResult) -> Snapshot:
    """The snapshot a result line stands for (trailing U+FFFD stripped unless final)."""
    if not result.alternatives:
        return Snapshot("", CompletionStatus.UNSPECIFIED, usage_of(result), result.model_version)
    alternative = result.alternatives[0]
    status = status_of(alternative.status)
    text = alternative.message.text or ""
    if not status.is_final:
        text = text.rstrip("\ufffd")
    return Snapshot(
        text, status, usage_of(result), result.model_version, tool_calls_of(result)
    )


_RESULT_KEYS = frozenset({"alternatives", "usage", "modelVersion"})


_ALTERNATIVE_KEYS = frozenset({"message", "status"})


_MESSAGE_KEYS = frozenset({"role", "text"})


_USAGE_KEYS = frozenset(
    {"inputTextTokens", "completionTokens", "totalTokens", "completionTokensDetails"}
)


def _count(value: object) -> int | None:
    """An int64 field the usual way (a JSON string of ASCII digits, or a number), else None."""
    if type(value) is str and value.isdigit() and value.isascii():
        return int(value)
    if type(value) is int:
        return value
    return None


_STATUSES = {f"ALTERNATIVE_STATUS_{status}": status for status in CompletionStatus}


def _no_surrogates(*texts: str) -> bool:
    try:
        for text in texts:
            if not text.isascii():
                text.encode()
    except UnicodeEncodeError:
        return False
    return True


def quick_snapshot(raw: bytes) -> Snapshot | None:
    """The snapshot of an ordinary result line, or None for anything else.

    Each cumulative line carries the whole answer so far, so parsing is O(n^2) in bytes over
    an answer; the pydantic model costs about 1.5x what `json.loads` and these checks do
    (12 vs 8 µs for a 1.8 KB line). Lines of exactly the usual shape (the camelCase
    fields `snapshot_of` reads, each of the usual type) are read directly; anything else
    (errors, tool calls, unknown or snake_case fields, nulls, numbers in other spellings,
    escaped surrogates, invalid JSON) returns None and goes through `StreamLine`, so leniency
    and errors stay the model's. tests/foundation_models checks both agree.
    """
    try:
        line = json.loads(raw.decode())
    except (ValueError, RecursionError):
        return None
    if type(line) is not dict or len(line) != 1:
        return None
    result = line.get("result")
    if type(result) is not dict or not result.keys() <= _RESULT_KEYS:
        return None
    alternatives = result.get("alternatives")
    if type(alternatives) is not list or len(alternatives) != 1:
        return None
    alternative = alternatives[0]
    if type(alternative) is not dict or not alternative.keys() <= _ALTERNATIVE_KEYS:
        return None
    message = alternative.get("message")
    if type(message) is not dict or not message.keys() <= _MESSAGE_KEYS:
        return None
    text = message.get("text")
    raw_status = alternative.get("status")
    version = result.get("modelVersion", "")
    if (type(text) is not str or type(message.get("role", "")) is not str
            or type(raw_status) is not str or type(version) is not str):
        return None
    usage = result.get("usage", {})
    if type(usage) is not dict or not usage.keys() <= _USAGE_KEYS:
        return None
    details = usage.get("completionTokensDetails")
    reasoning: int | None = 0
    if details is not None:
        if type(details) is not dict or not details.keys() <= {"reasoningTokens"}:
            return None
        reasoning = _count(details.get("reasoningTokens", 0))
    input_tokens = _count(usage.get("inputTextTokens", 0))
    completion_tokens = _count(usage.get("completionTokens", 0))
    total_tokens = _count(usage.get("totalTokens", 0))
    if input_tokens is None or completion_tokens is None or total_tokens is None or (
        reasoning is None
    ):
        return None
    if b"\\" in raw and not _no_surrogates(text, raw_status, version, message.get("role", "")):
        return None  # json decodes an escaped lone surrogate; the model's parser refuses it
    status = _STATUSES.get(raw_status) or status_of(raw_status)
    if not status.is_final:
        text = text.rstrip("\ufffd")
    return Snapshot(
        text, status, Usage(input_tokens, completion_tokens, total_tokens, reasoning), version
    )


def completion_of(result: CompletionResult) -> Completion:
    snapshot = snapshot_of(result)
    return Completion(
        text=snapshot.text, status=snapshot.status, usage=snapshot.usage,
        model_version=snapshot.model_version, tool_calls=tool_calls_of(result),
    )
