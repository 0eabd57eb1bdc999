"""The Responses API (`POST /v1/responses`) of the fake Foundation Models server.

Mixed into `FakeFoundationModels`. Speaks the shapes docs/responses-wire.md records from
Yandex's documentation: `input` items (messages with `input_text`/`input_image` parts,
`function_call`, `function_call_output`) and `instructions` in; out, the final response object,
or with `stream: true` the SSE events `response.created`, `response.in_progress`,
`response.output_item.added`, `response.content_part.added`, `response.output_text.delta`...,
`response.output_text.done`, `response.content_part.done`, `response.output_item.done`,
function calls as `response.output_item.added` + `response.function_call_arguments.delta`... +
`.done`, then `response.completed` (or `response.incomplete` for a truncated or filtered reply).
Yandex's quirks are reproduced: `call_id` equals the function's name (unless the scripted call
has an id), `created_at` is in milliseconds, and with `responses_usage_null` set `usage` is null.

Scripted `Reply`s answer as on the other routes; stream faults: `malformed`, `cut`, `drop`,
`stall`, `error_line` (an `error` event) and `failed` (a `response.failed` event).

Hook for built-in tools: `responses_builtin(body, messages)` returns the events to send before
the answer (e.g. `response.web_search_call.*`) and the annotations to put on its text
(`url_citation`, `file_citation`); a mixin placed before this one overrides it.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections import deque
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

from bot.testing.yandex import payloads as p
from bot.testing.yandex.exchange import Drop, Response, json_response
from bot.testing.yandex.scripts import Reply

RESPONSES_PATH = "/v1/responses"
_INCOMPLETE = {"ALTERNATIVE_STATUS_TRUNCATED_FINAL": "max_output_tokens",
               "ALTERNATIVE_STATUS_CONTENT_FILTER": "content_filter"}


def _parts(content: Any) -> Any:
    """Responses content parts in the chat-completions form the media helper decodes."""
    if not isinstance(content, list):
        return content
    out: list[Any] = []
    for part in content:
        kind = part.get("type") if isinstance(part, dict) else None
        if kind in ("input_text", "output_text"):
            out.append({"type": "text", "text": part.get("text", "")})
        elif kind == "input_image":
            out.append({"type": "image_url", "image_url": {"url": part.get("image_url", "")}})
        else:
            out.append(part)
    return out


def messages_of(body: dict[str, Any]) -> list[dict[str, Any]] | str:
    """The request as chat messages (`role`, `content`), or the problem with it."""
    items = body.get("input")
    if isinstance(items, str):
        items = [{"role": "user", "content": items}]
    if not isinstance(items, list) or not items:
        return "input must not be empty"
    messages: list[dict[str, Any]] = []
    if body.get("instructions"):
        messages.append({"role": "system", "content": str(body["instructions"])})
    for item in items:
        if not isinstance(item, dict):
            return "input items must be objects"
        kind = item.get("type", "message")
        if kind == "function_call_output":
            if not item.get("call_id"):
                return "function_call_output needs a call_id"
            messages.append({"role": "tool", "content": str(item.get("output") or "")})
        elif kind == "function_call":
            messages.append({"role": "assistant", "content": "",
                             "call": (item.get("name"), item.get("arguments"))})
        elif kind == "message":
            if item.get("role") not in ("user", "assistant", "system", "developer"):
                return f"unknown role {item.get('role')!r}"
            messages.append({"role": item["role"], "content": _parts(item.get("content"))})
        else:
            return f"unsupported input item type {kind!r}"
    return messages


class ResponsesHandlers:
    folder_id: str
    replies: deque[Reply]
    active_generations: int
    max_active_generations: int
    stream_disconnects: int
    responses_usage_null: bool

    if TYPE_CHECKING:  # provided by the other handlers (placed after this one)
        def decide(self, body: dict[str, Any], messages: list[dict[str, Any]],
                   key: str = "text", *, schema: dict[str, Any] | None = None,
                   sent: list[dict[str, Any]] | None = None) -> Reply: ...

        def streamed(self, parts: AsyncIterator[bytes], content_type: str,
                     request_id: str) -> Response: ...

        def flatten_messages(
            self, messages: list[dict[str, Any]]
        ) -> tuple[list[dict[str, Any]], int] | str: ...

        def model_problem(self, uri: Any, scheme: str) -> str | None: ...

        @staticmethod
        def error(status: int, message: str, *, form: str = "object",
                  headers: dict[str, str] | None = None) -> Response: ...

    def responses_builtin(
        self, body: dict[str, Any], messages: list[dict[str, Any]]
    ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """(events before the answer, annotations on its text): none without built-in tools."""
        return [], []

    async def responses(self, body: dict[str, Any]) -> Response:
        problem = self.model_problem(body.get("model"), "gpt")
        if problem is not None:
            return self.error(400, problem)
        raw = messages_of(body)
        if isinstance(raw, str):
            return self.error(400, raw)
        flat = self.flatten_messages(raw)  # image parts decoded (media.py)
        if isinstance(flat, str):
            return self.error(400, flat)
        messages, image_count = flat
        fmt = (body.get("text") or {}).get("format") or {}
        schema = {"schema": fmt.get("schema")} if fmt.get("type") == "json_schema" else None
        reply = self.decide(body, messages, "content", schema=schema, sent=raw)
        prompt = sum(p.word_count(str(m.get("content") or "")) for m in messages)
        prompt += 256 * image_count
        before, annotations = self.responses_builtin(body, messages)
        answer = _Answer(str(body["model"]), reply, prompt, annotations,
                         usage_null=self.responses_usage_null)
        if not body.get("stream"):
            if reply.fault == "stall":
                await asyncio.sleep(reply.stall)
            return json_response(answer.final())
        return self.streamed(answer.stream(before), "text/event-stream", "fake-responses")


class _Answer:
    """One scripted answer as a Responses object and as its event stream."""

    def __init__(self, model: str, reply: Reply, prompt: int,
                 annotations: list[dict[str, Any]], *, usage_null: bool) -> None:
        self.model, self.reply, self.prompt = model, reply, prompt
        self.annotations, self.usage_null = annotations, usage_null
        self.texts = reply.cumulative(p.split_cumulative)
        self.calls = reply.tool_calls or []
        if self.calls and not reply.text:
            self.texts = []
        self.id = str(uuid.uuid4())
        self.message_id = str(uuid.uuid4())
        self.sequence = 0

    def _call_items(self) -> list[dict[str, Any]]:
        return [{"id": call.get("id") or call["name"], "type": "function_call",
                 "call_id": call.get("id") or call["name"], "name": call["name"],
                 "arguments": json.dumps(call.get("arguments", {}), ensure_ascii=False),
                 "status": "completed"} for call in self.calls]

    def _message(self) -> dict[str, Any]:
        text = self.texts[-1] if self.texts else ""
        return {"id": self.message_id, "type": "message", "role": "assistant",
                "status": "completed",
                "content": [{"type": "output_text", "text": text,
                             "annotations": self.annotations, "logprobs": None}]}

    def final(self, status: str | None = None) -> dict[str, Any]:
        reason = _INCOMPLETE.get(self.reply.status)
        output = ([self._message()] if self.texts else []) + self._call_items()
        text = self.texts[-1] if self.texts else ""
        done = p.word_count(text) + 5 * len(self.calls)
        usage = None if self.usage_null else {
            "input_tokens": self.prompt, "input_tokens_details": {"cached_tokens": 0},
            "output_tokens": done, "output_tokens_details": {"reasoning_tokens": 0},
            "total_tokens": self.prompt + done}
        return {"id": self.id, "object": "response", "created_at": time.time() * 1000.0,
                "model": self.model, "status": status or ("incomplete" if reason else
                                                          "completed"),
                "incomplete_details": {"reason": reason} if reason and not status else None,
                "error": None, "output": output, "usage": usage, "store": False,
                "previous_response_id": None, "reasoning": None, "text": None}

    def _event(self, kind: str, **fields: Any) -> bytes:
        data = {"type": kind, "sequence_number": self.sequence, **fields}
        self.sequence += 1
        return (f"event: {kind}\ndata: ".encode() + json.dumps(data, ensure_ascii=False).encode()
                + b"\n\n")

    async def _fault(self) -> AsyncIterator[bytes]:
        """Write the scripted fault and end the stream."""
        fault = self.reply.fault
        if fault == "malformed":
            yield (b"event: response.output_text.delta\ndata: {not json\n\n")
        elif fault == "error_line":
            code = "rate_limit_exceeded" if self.reply.error_grpc == 8 else "server_error"
            yield (self._event("error", code=code,
                                             message=self.reply.error_message, param=None))
        elif fault == "failed":
            failed = self.final("failed")
            failed["error"] = {"code": "server_error", "message": self.reply.error_message}
            yield (self._event("response.failed", response=failed))
        elif fault == "stall":
            await asyncio.sleep(self.reply.stall)
        elif fault == "drop":
            raise Drop

    async def stream(self, before: list[dict[str, Any]]) -> AsyncIterator[bytes]:
        started = {**self.final(), "status": "in_progress", "output": [], "usage": None,
                   "incomplete_details": None}
        yield (self._event("response.created", response=started))
        yield (self._event("response.in_progress", response=started))
        for event in before:
            if event.get("type") == "_sleep":  # a built-in tool taking its time
                await asyncio.sleep(float(event["seconds"]))
                continue
            yield (self._event(event["type"], **{
                k: v for k, v in event.items() if k != "type"}))
        index = 0
        if self.texts:
            item = {**self._message(), "status": "in_progress", "content": []}
            yield (self._event("response.output_item.added", output_index=0,
                                             item=item))
            part = {"type": "output_text", "text": "", "annotations": []}
            yield (self._event("response.content_part.added", output_index=0,
                                             item_id=self.message_id, content_index=0,
                                             part=part))
            previous = ""
            for number, text in enumerate(self.texts):
                if self.reply.fault is not None and number == self.reply.fault_after:
                    async for chunk in self._fault():
                        yield chunk
                    return
                delta = text[len(previous):] if text.startswith(previous) else text
                previous = text
                yield (self._event(
                    "response.output_text.delta", output_index=0, item_id=self.message_id,
                    content_index=0, delta=delta))
                if self.reply.interval and number < len(self.texts) - 1:
                    await asyncio.sleep(self.reply.interval)
            for n, annotation in enumerate(self.annotations):
                yield (self._event(
                    "response.output_text.annotation.added", output_index=0,
                    item_id=self.message_id, content_index=0, annotation_index=n,
                    annotation=annotation))
            whole = self._message()
            yield (self._event("response.output_text.done", output_index=0,
                                             item_id=self.message_id, content_index=0,
                                             text=previous))
            yield (self._event("response.content_part.done", output_index=0,
                                             item_id=self.message_id, content_index=0,
                                             part=whole["content"][0]))
            yield (self._event("response.output_item.done", output_index=0,
                                             item=whole))
            index = 1
        elif self.reply.fault is not None:
            async for chunk in self._fault():
                yield chunk
            return
        for number, call in enumerate(self._call_items(), start=index):
            yield (self._event("response.output_item.added", output_index=number,
                                             item={**call, "arguments": "",
                                                   "status": "in_progress"}))
            text = call["arguments"]
            for start in range(0, len(text), 7):
                yield (self._event(
                    "response.function_call_arguments.delta", output_index=number,
                    item_id=call["id"], delta=text[start:start + 7]))
            yield (self._event("response.function_call_arguments.done",
                                             output_index=number, item_id=call["id"],
                                             arguments=text))
            yield (self._event("response.output_item.done", output_index=number,
                                             item=call))
        if self.reply.fault == "cut":
            return
        final = self.final()
        kind = "response.incomplete" if final["status"] == "incomplete" else "response.completed"
        yield self._event(kind, response=final)
