"""`ChatModel` over Yandex AI Studio's Responses API (`POST {base}/responses`, TEXT_API=responses).

fmbot keeps the conversation itself: each turn sends the whole prompt with `store: false` and
never `previous_response_id`, so /reset, retention and replicas work as on the other wires.
Streams are SSE events (responses_events.py) folded into the same cumulative `Snapshot`s as
the native and OpenAI-compatible wires, so drafts, the stop button and the tool loop are shared.
A request refused for its `web_search` tool is sent again without it (responses_refusal.py).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncGenerator, Awaitable, Callable, Sequence
from contextlib import aclosing

import httpx

import bot.foundation_models.errors as errors
import bot.foundation_models.responses_events as events
import bot.foundation_models.responses_refusal as refusal
import bot.foundation_models.responses_wire as rw
from bot.foundation_models.auth import Auth
from bot.foundation_models.base import ApiClient, ProjectTransport, generation_cap
from bot.foundation_models.limits import GenerationLimit
from bot.foundation_models.net import pool_limits
from bot.foundation_models.observer import Observer, model_label
from bot.foundation_models.openai_compat import BearerAuth
from bot.foundation_models.transport import RetryPolicy, Timeouts
from bot.foundation_models.types import (
    ChatMessage,
    Completion,
    CompletionOptions,
    Snapshot,
)
from bot.foundation_models.uris import folder_of, resolve_model_uri


class ResponsesChatModel(ApiClient):
    """Chat over `{base_url}/responses`; short model names become `gpt://folder/name/latest`."""

    def __init__(
        self,
        *,
        base_url: str,
        auth: Auth,
        folder_id: str,
        data_logging: bool = False,
        max_concurrent_generations: int = 10,
        timeouts: Timeouts | None = None,
        retry: RetryPolicy | None = None,
        http: httpx.AsyncClient | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        observer: Observer | None = None,
        generation_limit: GenerationLimit | None = None,
        clock: Callable[[], float] | None = None,
    ) -> None:
        super().__init__(
            auth=BearerAuth(auth), folder_id=folder_id, timeouts=timeouts, retry=retry,
            http=http, sleep=sleep, observer=observer, data_logging=data_logging,
            limits=pool_limits(max_concurrent_generations), transport=ProjectTransport,
        )
        self.base_url = base_url.rstrip("/")
        #: The generation cap: this process's own, or one shared by every replica.
        self.generation_limit = generation_cap(generation_limit, max_concurrent_generations)
        #: Seconds the last generation waited for a concurrency slot.
        self.last_queue_wait = 0.0
        #: Models whose requests Yandex refused for the `web_search` tool, for a while.
        self.web_refusal = (refusal.WebSearchRefusal(clock=clock) if clock is not None
                            else refusal.WebSearchRefusal())

    def __repr__(self) -> str:
        return f"ResponsesChatModel(base_url={self.base_url!r})"

    def _model(self, model: str) -> str:
        return resolve_model_uri(model, self.folder_id) if self.folder_id else model

    def body(self, messages: Sequence[ChatMessage], *, model: str,
             options: CompletionOptions | None, stream: bool) -> dict[str, object]:
        """The request body (a hook for built-in tools: a subclass adds to it)."""
        return rw.response_body(self._model(model), messages, options, stream=stream)

    async def complete(
        self, messages: Sequence[ChatMessage], *, model: str,
        options: CompletionOptions | None = None,
    ) -> Completion:
        body = self.web_refusal.strip(model, self.body(messages, model=model, options=options,
                                                       stream=False))
        try:
            raw = await self._post(body)
        except errors.APIStatusError as exc:
            if not refusal.may_be_web_refusal(exc, body):
                raise
            body = refusal.without_web_search(body)  # answered without web search
            raw = await self._post(body)
            self.web_refusal.confirm(model, exc)
        try:
            answer = json.loads(raw)
        except ValueError:
            raise errors.APIError("unreadable answer (response)") from None
        if not isinstance(answer, dict):
            raise errors.APIError("unreadable answer (response)")
        if answer.get("status") == "failed":
            raise errors.APIError(str((answer.get("error") or {}).get("message") or "failed"))
        text, calls = rw.outputs_of(answer)
        usage = rw.usage_of(answer.get("usage"), estimate_input=rw.estimate_tokens(body),
                            text=text)
        self.observer.usage(model_label(model), usage.input_tokens, usage.completion_tokens)
        return Completion(text=text, status=rw.status_of(answer, bool(calls)), usage=usage,
                          model_version=str(answer.get("model") or ""), tool_calls=calls)

    async def stream(
        self, messages: Sequence[ChatMessage], *, model: str,
        options: CompletionOptions | None = None,
    ) -> AsyncGenerator[Snapshot, None]:
        body = self.web_refusal.strip(model, self.body(messages, model=model, options=options,
                                                       stream=True))
        started = False
        try:
            async with aclosing(self._stream(body, model)) as snapshots:
                async for snapshot in snapshots:
                    started = True
                    yield snapshot
        except errors.APIStatusError as exc:
            # Refused before the stream began: possibly for the web_search tool alone.
            if started or not refusal.may_be_web_refusal(exc, body):
                raise
            confirmed = False
            async with aclosing(self._stream(refusal.without_web_search(body), model)) as again:
                async for snapshot in again:
                    if not confirmed:
                        confirmed = True
                        self.web_refusal.confirm(model, exc)
                    yield snapshot

    async def _post(self, body: dict[str, object]) -> bytes:
        url = f"{self.base_url}/responses"
        async with self._generation(
            folder_of(str(body["model"])), lambda: self._transport.open("POST", url, json=body),
            endpoint="responses",
        ) as response:
            return await self._transport.read_body(response)

    async def _stream(self, body: dict[str, object], model: str
                      ) -> AsyncGenerator[Snapshot, None]:
        state = events.ResponseState(rw.estimate_tokens(body))
        url = f"{self.base_url}/responses"
        async with self._generation(
            folder_of(str(body["model"])), lambda: self._transport.open("POST", url, json=body),
            endpoint="responses",
        ) as response:
            items = events.snapshots(response, self.timeouts, state=state)
            observed = self._observed(items, model, endpoint="responses")
            async with aclosing(observed):
                async for snapshot in observed:
                    yield snapshot

    async def count_tokens(self, messages: Sequence[ChatMessage], *, model: str) -> int:
        """No tokenizer on this API: a conservative estimate (a token per 3 characters, plus
        4 per message for the role markers), as on the OpenAI-compatible wire."""
        return sum(len(m.text) // 3 + 4 for m in messages)
