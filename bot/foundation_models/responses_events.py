"""The Responses API's server-sent events folded into the cumulative `Snapshot`s fmbot streams.

Each SSE `data:` line is one JSON event whose `type` says what it is (the `event:` line repeats
it and is ignored). Text arrives as `response.output_text.delta`; a function call as
`response.output_item.added` (the call's name and id), `response.function_call_arguments.delta`
pieces and `response.function_call_arguments.done` (the whole arguments); the stream ends with
`response.completed`, `response.incomplete` (token limit, filter), `response.failed` or an
`error` event. Events this module does not know are ignored, as new ones appear.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncGenerator
from contextlib import aclosing
from typing import Any

import httpx

import bot.foundation_models.errors as errors
import bot.foundation_models.hosted as hosted
import bot.foundation_models.responses_wire as rw
from bot.foundation_models.streaming import read_lines
from bot.foundation_models.transport import Timeouts
from bot.foundation_models.types import CompletionStatus, Snapshot, ToolCall, Usage

_DATA = b"data:"
_TEXT_DELTA = "response.output_text.delta"


class ResponseState:
    """What a stream has said so far: the text, the calls, the annotations and the end.

    `annotations` keeps every `url_citation` / `file_citation` the text carries (the sources of
    web and file search); `tool_events` counts built-in tool events by type (e.g.
    `response.web_search_call.searching`), for a status line while a search runs."""

    __slots__ = ("activity", "annotations", "calls", "estimate", "hosted", "model", "response",
                 "status", "text", "tool_events", "usage")

    def __init__(self, estimate: int = 0) -> None:
        self.text = ""
        self.model = ""
        self.status = CompletionStatus.PARTIAL
        self.usage = Usage()
        self.estimate = estimate
        self.calls: dict[str, list[str]] = {}  # item id -> [name, call_id, arguments...]
        self.annotations: list[dict[str, Any]] = []
        self.tool_events: dict[str, int] = {}
        self.response: dict[str, Any] = {}
        self.activity = ""  # the built-in tool running now (hosted.py)
        self.hosted: dict[str, tuple[str, str]] = {}  # item id -> (tool, status)

    def tool_calls(self) -> tuple[ToolCall, ...]:
        return tuple(
            ToolCall(parts[0], rw.arguments_of("".join(parts[2:])), parts[1] or parts[0])
            for parts in self.calls.values() if parts[0]
        )

    def handle(self, event: dict[str, Any]) -> bool:
        """Apply one event; True when the text changed."""
        kind = event.get("type")
        if kind == _TEXT_DELTA:
            delta = event.get("delta")
            if isinstance(delta, str) and delta:
                self.text += delta
                return True
            return False
        if kind in ("response.output_item.added", "response.output_item.done"):
            item = event.get("item") or {}
            changed = hosted.track(self, item, _key(event), done=kind.endswith("done"))
            if changed is not None:
                return changed
            if item.get("type") == "function_call" and kind.endswith("added"):
                key = _key(event) or str(len(self.calls))
                self.calls[key] = [str(item.get("name") or ""), str(item.get("call_id") or ""),
                                   str(item.get("arguments") or "")]
        elif kind == "response.function_call_arguments.delta":
            parts = self._call(event)
            if parts is not None and isinstance(event.get("delta"), str):
                parts.append(event["delta"])
        elif kind == "response.function_call_arguments.done":
            parts = self._call(event)
            if parts is not None and isinstance(event.get("arguments"), str):
                del parts[2:]
                parts.append(event["arguments"])
        elif kind == "response.output_text.annotation.added":
            annotation = event.get("annotation")
            if isinstance(annotation, dict):
                self.annotations.append(annotation)
        elif kind in ("response.completed", "response.incomplete"):
            self._finish(event.get("response") or {})
        elif kind == "response.failed":
            raise _failure((event.get("response") or {}).get("error"), "the response failed")
        elif kind == "error":
            raise _failure(event, "error in stream")
        elif isinstance(kind, str) and kind.endswith(("_call.in_progress", "_call.searching",
                                                       "_call.completed", "_call.failed")):
            self.tool_events[kind] = self.tool_events.get(kind, 0) + 1
            return hosted.progress(self, kind, _key(event))
        elif kind == "response.created":
            self.model = str((event.get("response") or {}).get("model") or "")
        return False

    def _call(self, event: dict[str, Any]) -> list[str] | None:
        key = _key(event)
        if key not in self.calls and len(self.calls) == 1:
            key = next(iter(self.calls))  # a server that leaves out the item id
        return self.calls.get(key)

    def _finish(self, response: dict[str, Any]) -> None:
        self.response = response
        self.model = str(response.get("model") or self.model)
        text, calls = rw.outputs_of(response)
        if text and not self.text:
            self.text = text  # a server that sent the text only in the final response
        if calls and not self.calls:
            for index, call in enumerate(calls):
                self.calls[f"final-{index}"] = [call.name, call.id or "",
                                                json.dumps(call.arguments, ensure_ascii=False)]
        for item in response.get("output") or []:
            for part in (item.get("content") or []) if isinstance(item, dict) else []:
                found = part.get("annotations") if isinstance(part, dict) else None
                if found and not self.annotations:
                    self.annotations.extend(a for a in found if isinstance(a, dict))
        hosted.finish(self, response.get("output") or [])
        self.usage = rw.usage_of(response.get("usage"), estimate_input=self.estimate,
                                 text=self.text)
        self.status = rw.status_of(response, bool(self.calls))


def _key(event: dict[str, Any]) -> str:
    """Which call an event belongs to: its `output_index` (Yandex's item ids repeat the
    function's name, so two calls of one function share an id), else its item id."""
    index = event.get("output_index")
    if isinstance(index, int):
        return f"#{index}"
    item = event.get("item")
    return str(event.get("item_id") or (item.get("id") if isinstance(item, dict) else "") or "")


def _failure(error: Any, default: str) -> errors.APIError:
    """The error for a `response.failed` error object or an `error` event."""
    code = message = ""
    if isinstance(error, dict):
        code, message = str(error.get("code") or ""), str(error.get("message") or "")
    message = (message or code or default)[:500]
    lowered = f"{code} {message}".lower()
    if "rate_limit" in lowered or "quota" in lowered or "429" in code:
        return errors.RateLimitError(message)
    if code in ("server_error", "500", "503") or "unavailable" in lowered:
        return errors.ServiceUnavailableError(message, status_code=503)
    return errors.StreamError(message)


async def _drain(lines: AsyncGenerator[bytes, None]) -> None:
    """Read the end of the body after the last event, so that httpx can pool the connection
    (a response closed early drops it and the next answer pays a new handshake)."""
    try:
        async with asyncio.timeout(2.0):
            async for _ in lines:
                pass
    except (TimeoutError, errors.FoundationModelsError):
        pass  # the answer is complete; a slow or broken tail only costs the connection


def event_of(data: bytes) -> dict[str, Any]:
    try:
        value = json.loads(data)
    except ValueError:
        raise errors.StreamError("malformed event in stream") from None
    if not isinstance(value, dict):
        raise errors.StreamError("malformed event in stream")
    return value


async def snapshots(
    response: httpx.Response, timeouts: Timeouts, *, estimate: int = 0,
    state: ResponseState | None = None,
) -> AsyncGenerator[Snapshot, None]:
    """Snapshots of an open streamed response; the last has a final status. Errors carry the
    text delivered so far as `partial_text`. Pass `state` to read annotations afterwards."""
    state = state or ResponseState(estimate)
    lines = read_lines(response, first_byte=timeouts.first_byte, idle=timeouts.idle)
    try:
        async with aclosing(lines):
            async for raw in lines:
                if not raw.startswith(_DATA):
                    continue  # blank separators, `event:` lines, comments
                data = raw[5:].strip()
                if data == b"[DONE]":
                    break
                if state.handle(event_of(data)):
                    yield Snapshot(state.text, CompletionStatus.PARTIAL, state.usage, state.model,
                                   activity=state.activity)
                if state.status is not CompletionStatus.PARTIAL:
                    await _drain(lines)
                    break
        if state.status is CompletionStatus.PARTIAL:
            raise errors.StreamError("stream ended without response.completed")
        yield Snapshot(state.text, state.status, state.usage, state.model, state.tool_calls(),
                       annotations=hosted.annotations_of(state.annotations),
                       hosted_calls=tuple(state.hosted.values()))
    except errors.FoundationModelsError as exc:
        exc.partial_text = state.text
        if isinstance(exc, errors.APIError) and exc.request_id is None:
            exc.request_id = response.headers.get("x-request-id")
        raise
