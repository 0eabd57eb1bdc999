"""`ChatModel` over an OpenAI-compatible `/chat/completions` (Yandex's `{llm}/v1`, or any
compatible server).

Unlike the native API, the stream here is SSE with *deltas* (`data: {chunk}` events ending with
`data: [DONE]`); deltas are accumulated into the same cumulative `Snapshot`s. On
`finish_reason: "content_filter"` the chunk's content replaces the text instead of extending it
(reference §6, after the official SDK's `_chat/completions/model.py`).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncGenerator, Awaitable, Callable, Sequence
from contextlib import aclosing

import httpx
from pydantic import ValidationError

import bot.foundation_models.errors as errors
import bot.foundation_models.openai_wire as ow
from bot.foundation_models.auth import Auth
from bot.foundation_models.base import ApiClient, generation_cap
from bot.foundation_models.limits import GenerationLimit
from bot.foundation_models.net import pool_limits
from bot.foundation_models.observer import Observer, model_label
from bot.foundation_models.reasoning import with_reasoning_effort
from bot.foundation_models.responses_wire import arguments_of
from bot.foundation_models.streaming import read_lines
from bot.foundation_models.transport import RetryPolicy, Timeouts
from bot.foundation_models.types import (
    ChatMessage,
    Completion,
    CompletionOptions,
    CompletionStatus,
    Snapshot,
    ToolCall,
    Usage,
)
from bot.foundation_models.uris import folder_of, resolve_model_uri

FINISH = {
    "stop": CompletionStatus.FINAL,
    "length": CompletionStatus.TRUNCATED_FINAL,
    "content_filter": CompletionStatus.CONTENT_FILTER,
    "tool_calls": CompletionStatus.TOOL_CALLS,
    "function_call": CompletionStatus.TOOL_CALLS,
}


class BearerAuth(Auth):
    """OpenAI clients send `Bearer <API key>`; Yandex accepts both forms (reference §6)."""

    def __init__(self, inner: Auth) -> None:
        self.inner = inner
        self.refreshable = inner.refreshable
        self.needs_folder_header = inner.needs_folder_header

    async def authorization(self, http: httpx.AsyncClient) -> str:
        value = await self.inner.authorization(http)
        return "Bearer " + value.removeprefix("Api-Key ")

    async def invalidate(self, authorization: str) -> None:
        await self.inner.invalidate(authorization)


class OpenAICompatibleChatModel(ApiClient):
    """Chat over `{base_url}/chat/completions`. With a `folder_id`, short model names become
    `gpt://folder/name/latest` (Yandex); without one, names are sent as given."""

    def __init__(
        self,
        *,
        base_url: str,
        auth: Auth,
        folder_id: str = "",
        bearer: bool = True,
        data_logging: bool = False,
        max_concurrent_generations: int = 10,
        timeouts: Timeouts | None = None,
        retry: RetryPolicy | None = None,
        http: httpx.AsyncClient | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        observer: Observer | None = None,
        generation_limit: GenerationLimit | None = None,
        reasoning_effort: str | None = None,
    ) -> None:
        super().__init__(
            auth=BearerAuth(auth) if bearer else auth, folder_id=folder_id, timeouts=timeouts,
            retry=retry, http=http, sleep=sleep, observer=observer, data_logging=data_logging,
            limits=pool_limits(max_concurrent_generations),
        )
        self.base_url = base_url.rstrip("/")
        #: REASONING=on: `reasoning_effort` for every generation on a model that takes it.
        self.reasoning_effort = reasoning_effort
        #: The generation cap: this process's own, or one shared by every replica.
        self.generation_limit = generation_cap(generation_limit, max_concurrent_generations)
        #: Seconds the last generation waited for a concurrency slot.
        self.last_queue_wait = 0.0

    def __repr__(self) -> str:
        return f"OpenAICompatibleChatModel(base_url={self.base_url!r})"

    def _model(self, model: str) -> str:
        return resolve_model_uri(model, self.folder_id) if self.folder_id else model

    async def complete(
        self, messages: Sequence[ChatMessage], *, model: str,
        options: CompletionOptions | None = None,
    ) -> Completion:
        name = self._model(model)
        options = with_reasoning_effort(name, options, self.reasoning_effort)
        body = ow.chat_body(name, messages, options, stream=False)
        url = f"{self.base_url}/chat/completions"
        async with self._generation(
            folder_of(name), lambda: self._transport.open("POST", url, json=body),
            endpoint="chat.completions",
        ) as response:
            raw = await self._transport.read_body(response)
        try:
            answer = ow.ChatCompletion.model_validate_json(raw)
        except ValidationError:
            raise errors.APIError("unreadable answer (chat.completion)") from None
        if not answer.choices:
            raise errors.APIError("the answer has no choices")
        choice = answer.choices[0]
        calls = tuple(
            ToolCall(call.function.name, arguments_of(call.function.arguments), call.id or None)
            for call in choice.message.tool_calls or []
        )
        usage = _usage(answer.usage)
        self.observer.usage(model_label(model), usage.input_tokens, usage.completion_tokens)
        return Completion(
            text=choice.message.content or "",
            status=FINISH.get(choice.finish_reason or "stop", CompletionStatus.FINAL),
            usage=usage, model_version=answer.model, tool_calls=calls,
        )

    async def stream(
        self, messages: Sequence[ChatMessage], *, model: str,
        options: CompletionOptions | None = None,
    ) -> AsyncGenerator[Snapshot, None]:
        name = self._model(model)
        options = with_reasoning_effort(name, options, self.reasoning_effort)
        body = ow.chat_body(name, messages, options, stream=True)
        url = f"{self.base_url}/chat/completions"
        async with self._generation(
            folder_of(name), lambda: self._transport.open("POST", url, json=body),
            endpoint="chat.completions",
        ) as response:
            events = _events(response, self.timeouts)
            observed = self._observed(events, model, endpoint="chat.completions")
            async with aclosing(observed):
                async for snapshot in observed:
                    yield snapshot

    async def count_tokens(self, messages: Sequence[ChatMessage], *, model: str) -> int:
        """No tokenizer here: a conservative estimate (a token per 3 characters, plus
        4 per message for the role markers)."""
        return sum(len(m.text) // 3 + 4 for m in messages)


async def _events(
    response: httpx.Response, timeouts: Timeouts
) -> AsyncGenerator[Snapshot, None]:
    text, status, usage, model = "", CompletionStatus.PARTIAL, Usage(), ""
    calls = _CallFragments()
    lines = read_lines(response, first_byte=timeouts.first_byte, idle=timeouts.idle)
    try:
        async with aclosing(lines):
            async for raw in lines:
                if not raw.startswith(b"data:"):
                    continue  # blank separators, comments, event:/id: fields
                data = raw[5:].strip()
                if data == b"[DONE]":
                    break
                chunk = _chunk(data)
                model = chunk.model or model
                usage = _usage(chunk.usage) if chunk.usage else usage
                if not chunk.choices:
                    continue
                choice = chunk.choices[0]
                if choice.delta.tool_calls:
                    calls.add(choice.delta.tool_calls)
                content = choice.delta.content or ""
                if choice.finish_reason:
                    status = FINISH.get(choice.finish_reason, CompletionStatus.FINAL)
                    if status is CompletionStatus.CONTENT_FILTER and content:
                        text = ""  # the filter's text replaces the answer
                if content:
                    text += content
                    yield Snapshot(text.rstrip("\ufffd"), CompletionStatus.PARTIAL, usage, model)
        if status is CompletionStatus.PARTIAL:
            raise errors.StreamError("stream ended without a finish reason")
        tool_calls = calls.whole()
        if tool_calls and status is CompletionStatus.FINAL:
            status = CompletionStatus.TOOL_CALLS  # some servers end calls with "stop"
        yield Snapshot(text, status, usage, model, tool_calls)
    except errors.FoundationModelsError as exc:
        exc.partial_text = text
        raise


class _CallFragments:
    """Streamed tool calls put together: fragments accumulate by `index`; `""` counts as
    absent (Qwen and Gemma send empty strings, not missing keys, after the first fragment)."""

    def __init__(self) -> None:
        self._calls: dict[int, tuple[str, str, list[str]]] = {}

    def add(self, fragments: list[ow.DeltaToolCall]) -> None:
        for fragment in fragments:
            call_id, name, parts = self._calls.get(fragment.index, ("", "", []))
            call_id = call_id or fragment.id or ""
            name = name or fragment.function.name or ""
            if fragment.function.arguments:
                parts.append(fragment.function.arguments)
            self._calls[fragment.index] = (call_id, name, parts)

    def whole(self) -> tuple[ToolCall, ...]:
        return tuple(
            ToolCall(name, arguments_of("".join(parts)), call_id or None)
            for _, (call_id, name, parts) in sorted(self._calls.items())
            if name
        )


def _chunk(data: bytes) -> ow.ChatChunk:
    try:
        value = json.loads(data)
    except ValueError:
        raise errors.StreamError("malformed event in stream") from None
    if isinstance(value, dict) and "error" in value:
        error = value["error"]
        message = str(error.get("message", "")) if isinstance(error, dict) else str(error)
        raise errors.StreamError(f"error in stream: {message or 'unknown'}"[:500])
    try:
        return ow.ChatChunk.model_validate(value)
    except ValidationError:
        raise errors.StreamError("malformed event in stream") from None


def _usage(usage: ow.ChatUsage | None) -> Usage:
    if usage is None:
        return Usage()
    details = usage.completion_tokens_details
    return Usage(input_tokens=usage.prompt_tokens, completion_tokens=usage.completion_tokens,
                 total_tokens=usage.total_tokens,
                 reasoning_tokens=details.reasoning_tokens if details else 0)
