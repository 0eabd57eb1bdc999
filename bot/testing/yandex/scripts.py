"""Scripted replies and faults of the fake Foundation Models server.

A `Reply` answers the next completion (native or OpenAI-compatible); a `Fault` answers the next
matching request with an HTTP error; a `RawReply` answers the next request to its path with
exact bytes (used to replay recorded fixtures over real HTTP).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# Stream faults, injected after `fault_after` chunks:
#   malformed  - a line that is not JSON, then the end of the body
#   cut        - the body ends cleanly without the final chunk
#   drop       - the connection is closed abruptly (incomplete chunked body)
#   stall      - nothing more for `stall` seconds (then the body ends)
#   error_line - an {"error": {...}} line (grpcCode `error_grpc`), then the end
STREAM_FAULTS = ("malformed", "cut", "drop", "stall", "error_line")


@dataclass
class Reply:
    """The next completion's answer.

    `chunks`: a number of cumulative chunks to split `text` into, or an explicit list of
    cumulative texts (to script a revised prefix or a trailing U+FFFD); `interval` seconds
    between chunks (real time); `status` of the final chunk. For a non-streamed request a
    `stall` fault delays the whole answer.

    `tool_calls` ([{"name", "arguments", "id"?}]): the answer ends in function calls after
    `text` (which may be empty). Natively a last frame with status TOOL_CALLS carries
    `toolCallList` and no text, numbers as doubles (`5.0`: a protobuf Struct). Over the
    OpenAI-compatible API `tool_style` "whole" sends each call in one chunk with the name
    as its id (YandexGPT, Llama), "fragments" sends a first fragment with a real id and
    then pieces with `""` id, type and name (Qwen, Gemma).
    """

    text: str
    chunks: int | list[str] = 4
    interval: float = 0.0
    status: str = "ALTERNATIVE_STATUS_FINAL"
    fault: str | None = None
    fault_after: int = 1
    stall: float = 30.0
    error_grpc: int = 8
    error_message: str = "ai.textGenerationCompletionSessionsCount.count gauge quota limit exceed"
    tool_calls: list[dict[str, Any]] | None = None
    tool_style: str = "fragments"

    def cumulative(self, split: Any) -> list[str]:
        if isinstance(self.chunks, list):
            return list(self.chunks) or [self.text]
        return list(split(self.text, self.chunks))


@dataclass
class Fault:
    """Answer the next request whose path contains `path` (any API path when None) with
    `status`; `retry_after` is sent as the Retry-After header; `form` picks the error body
    shape ("object" or "string"); repeated `times` times."""

    status: int
    retry_after: str | None = None
    message: str = ""
    form: str = "object"
    path: str | None = None
    times: int = 1

    def matches(self, path: str) -> bool:
        if self.path is None:
            return not path.startswith(("/iam/", "/computeMetadata/"))
        return self.path in path


@dataclass
class RawReply:
    """Exact bytes for the next request to `path` (exact match): `parts` are written one by
    one with `interval` seconds between them."""

    path: str
    status: int = 200
    parts: list[bytes] = field(default_factory=list)
    content_type: str = "application/json"
    interval: float = 0.0
    headers: dict[str, str] = field(default_factory=dict)


REPLY_FIELDS = {f for f in Reply.__dataclass_fields__}
FAULT_FIELDS = {f for f in Fault.__dataclass_fields__}


def reply_from_json(data: dict[str, Any]) -> Reply:
    unknown = set(data) - REPLY_FIELDS
    if unknown:
        raise ValueError(f"unknown reply fields: {sorted(unknown)}")
    return Reply(**data)


def fault_from_json(data: dict[str, Any]) -> Fault:
    unknown = set(data) - FAULT_FIELDS
    if unknown:
        raise ValueError(f"unknown fault fields: {sorted(unknown)}")
    if data.get("retry_after") is not None:
        data = {**data, "retry_after": str(data["retry_after"])}
    return Fault(**data)
