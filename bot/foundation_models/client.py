"""The Foundation Models client: text (sync, stream, async), YandexART, tokenizer, embeddings,
classifiers, over one `httpx.AsyncClient`.

Implements `ChatModel` and `ImageModel` (types.py). Generations (complete / stream) pass a
per-folder concurrency limit (the default quota is 10 concurrent sync generations, reference
§8.3), held for a whole stream, so the bot queues instead of collecting 429s;
`last_queue_wait` says how long the last one waited.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncGenerator, Awaitable, Callable, Sequence
from contextlib import aclosing
from typing import Any, TypeVar

import httpx
from pydantic import BaseModel

import bot.foundation_models.wire as wire
from bot.foundation_models.auth import Auth
from bot.foundation_models.base import ApiClient, generation_cap
from bot.foundation_models.chunks import completion_of
from bot.foundation_models.error_mapping import is_refusal
from bot.foundation_models.errors import (
    BadRequestError,
    ImageRefusedError,
    OperationFailedError,
    ResponseTooLargeError,
)
from bot.foundation_models.images_api import (
    IMAGES_PATH,
    MAX_ANSWER_BYTES,
    ImagesResponse,
    image_of,
    images_base_url,
    images_body,
    images_uri,
)
from bot.foundation_models.limits import GenerationLimit
from bot.foundation_models.net import pool_limits
from bot.foundation_models.observer import Observer, model_label
from bot.foundation_models.operations import (
    jpeg_of,
    operation_of,
    poll_until_done,
    raise_if_failed,
)
from bot.foundation_models.reasoning import with_reasoning_mode
from bot.foundation_models.requests import completion_body, image_body
from bot.foundation_models.streaming import snapshots
from bot.foundation_models.transport import NO_RETRY, RetryPolicy, Timeouts
from bot.foundation_models.types import (
    ChatMessage,
    Completion,
    CompletionOptions,
    Embedding,
    ImageOptions,
    Operation,
    PollPolicy,
    Prediction,
    Snapshot,
    Token,
)
from bot.foundation_models.uris import Scheme, folder_of, resolve_model_uri

logger = logging.getLogger("bot.foundation_models")
_W = TypeVar("_W", bound=BaseModel)


class FoundationModelsClient(ApiClient):
    """Yandex Cloud Foundation Models over REST. Use as `async with` or call `aclose()`."""

    def __init__(
        self,
        *,
        folder_id: str,
        auth: Auth,
        llm_url: str = "https://llm.api.cloud.yandex.net",
        operation_url: str = "https://operation.api.cloud.yandex.net",
        images_url: str | None = None,
        data_logging: bool = False,
        max_concurrent_generations: int = 10,
        timeouts: Timeouts | None = None,
        retry: RetryPolicy | None = None,
        stream_retry: RetryPolicy | None = None,
        poll_policy: PollPolicy | None = None,
        http: httpx.AsyncClient | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        observer: Observer | None = None,
        generation_limit: GenerationLimit | None = None,
        reasoning_mode: str | None = None,
    ) -> None:
        super().__init__(
            auth=auth, folder_id=folder_id, timeouts=timeouts, retry=retry, http=http,
            sleep=sleep, observer=observer, data_logging=data_logging,
            limits=pool_limits(max_concurrent_generations),
        )
        #: REASONING=on: `ENABLED_HIDDEN` for every generation on a model that takes it.
        self.reasoning_mode = reasoning_mode
        self.llm_url = llm_url.rstrip("/")
        self.operation_url = operation_url.rstrip("/")
        #: The OpenAI-compatible base of the Images API: Yandex's own host for Yandex's
        #: `llm_url`, `{llm_url}/v1` for any other, unless given.
        self.images_url = (images_url or images_base_url(self.llm_url)).rstrip("/")
        self.poll_policy = poll_policy or PollPolicy()
        # Sync generations are not idempotent and re-bill: by default a stream is retried
        # (before it starts) on the same terms as other calls; pass NO_RETRY to forbid it.
        self._stream_retry = stream_retry or retry
        #: The generation cap: this process's own, or one shared by every replica.
        self.generation_limit = generation_cap(generation_limit, max_concurrent_generations)
        #: Seconds the last generation waited for a concurrency slot.
        self.last_queue_wait = 0.0

    def __repr__(self) -> str:
        auth = self._transport.auth
        return f"FoundationModelsClient(folder_id={self.folder_id!r}, auth={auth!r})"

    def model_uri(self, model: str, scheme: Scheme = "gpt") -> str:
        """A short name or full URI -> the full URI (the folder from configuration)."""
        return resolve_model_uri(model, self.folder_id, scheme)

    async def _post(self, path: str, body: dict[str, Any], into: type[_W]) -> _W:
        raw = await self._transport.request("POST", f"{self.llm_url}{path}", json=body)
        return wire.parse(raw, into)

    def _note_wait(self, waited: float) -> None:
        self.last_queue_wait = waited
        self.observer.generation_wait(waited)
        log = logger.info if waited >= 1.0 else logger.debug
        log("generation waited %.3fs for a concurrency slot", waited)

    # --- text -----------------------------------------------------------------------------

    async def complete(
        self,
        messages: Sequence[ChatMessage],
        *,
        model: str,
        options: CompletionOptions | None = None,
    ) -> Completion:
        """One completion, not streamed (`POST /foundationModels/v1/completion`)."""
        uri = self.model_uri(model)
        options = with_reasoning_mode(uri, options, self.reasoning_mode)
        body = completion_body(uri, messages, options, stream=False)
        url = f"{self.llm_url}/foundationModels/v1/completion"
        async with self._generation(
            folder_of(uri), lambda: self._transport.open("POST", url, json=body),
            endpoint="completion",
        ) as response:
            raw = await self._transport.read_body(response)
        answer = wire.parse(raw, wire.CompletionResponse)
        completion = completion_of(answer.result)
        usage = completion.usage
        self.observer.usage(model_label(model), usage.input_tokens, usage.completion_tokens)
        return completion

    async def stream(
        self,
        messages: Sequence[ChatMessage],
        *,
        model: str,
        options: CompletionOptions | None = None,
    ) -> AsyncGenerator[Snapshot, None]:
        """Snapshots of the cumulative answer; the last one has a final status.

        Close the generator (`contextlib.aclosing`) to stop: the HTTP response closes at once
        and the concurrency slot is released. Raises StreamError if the stream breaks.
        """
        uri = self.model_uri(model)
        options = with_reasoning_mode(uri, options, self.reasoning_mode)
        body = completion_body(uri, messages, options, stream=True)
        url = f"{self.llm_url}/foundationModels/v1/completion"
        async with self._generation(
            folder_of(uri),
            lambda: self._transport.open("POST", url, json=body, retry=self._stream_retry),
            endpoint="completion",
        ) as response:
            items = snapshots(
                response, first_byte=self.timeouts.first_byte, idle=self.timeouts.idle
            )
            observed = self._observed(items, model, endpoint="completion")
            async with aclosing(observed):
                async for snapshot in observed:
                    yield snapshot

    async def tokenize_completion(
        self,
        messages: Sequence[ChatMessage],
        *,
        model: str,
        options: CompletionOptions | None = None,
    ) -> int:
        """Tokens of the prompt exactly as the model sees it (`tokenizeCompletion`)."""
        body = completion_body(self.model_uri(model), messages, options, stream=None)
        answer = await self._post("/foundationModels/v1/tokenizeCompletion", body,
                                  wire.TokenizeResponse)
        return len(answer.tokens)

    async def count_tokens(self, messages: Sequence[ChatMessage], *, model: str) -> int:
        return await self.tokenize_completion(messages, model=model)

    async def tokenize(self, text: str, *, model: str) -> list[Token]:
        body = {"modelUri": self.model_uri(model), "text": text}
        answer = await self._post("/foundationModels/v1/tokenize", body, wire.TokenizeResponse)
        return [Token(id=t.id, text=t.text, special=t.special) for t in answer.tokens]

    async def embed(self, text: str, *, model: str = "text-search-doc/latest") -> list[float]:
        """An embedding (256 floats); `text-search-query/latest` for search queries."""
        body = {"modelUri": self.model_uri(model, "emb"), "text": text}
        answer = await self._post("/foundationModels/v1/textEmbedding", body,
                                  wire.EmbeddingResponse)
        return list(answer.embedding)

    async def embedding(
        self, text: str, *, model: str, retry: RetryPolicy | None = None
    ) -> Embedding:
        """`textEmbedding` with its token count and `modelVersion` (one text per request).
        `retry` replaces the client's policy (a caller pacing its own requests retries them
        itself, so that retries are paced too)."""
        body = {"modelUri": self.model_uri(model, "emb"), "text": text}
        raw = await self._transport.request(
            "POST", f"{self.llm_url}/foundationModels/v1/textEmbedding", json=body, retry=retry
        )
        answer = wire.parse(raw, wire.EmbeddingResponse)
        return Embedding(list(answer.embedding), answer.num_tokens, answer.model_version)

    async def classify_few_shot(
        self,
        text: str,
        *,
        labels: Sequence[str],
        task_description: str = "",
        samples: Sequence[tuple[str, str]] = (),
        model: str = "yandexgpt-lite/latest",
    ) -> list[Prediction]:
        """Prompt-based classification; `samples` are (text, label) pairs."""
        body: dict[str, Any] = {
            "modelUri": self.model_uri(model, "cls"), "labels": list(labels), "text": text,
        }
        if task_description:
            body["taskDescription"] = task_description
        if samples:
            body["samples"] = [{"text": t, "label": label} for t, label in samples]
        answer = await self._post("/foundationModels/v1/fewShotTextClassification", body,
                                  wire.ClassificationResponse)
        return [Prediction(p.label, p.confidence) for p in answer.predictions]

    async def classify(self, text: str, *, model: str) -> list[Prediction]:
        """A fine-tuned classifier (`cls://folder/base/version@suffix`)."""
        body = {"modelUri": self.model_uri(model, "cls"), "text": text}
        answer = await self._post("/foundationModels/v1/textClassification", body,
                                  wire.ClassificationResponse)
        return [Prediction(p.label, p.confidence) for p in answer.predictions]

    async def list_models(self) -> list[str]:
        """The model URIs the folder's `GET /v1/models` lists (not every served model: image
        models, for one, are left out)."""
        raw = await self._transport.request("GET", f"{self.llm_url}/v1/models")
        answer = wire.parse(raw, wire.ModelList)
        return [model.id for model in answer.data if model.id]

    # --- operations -----------------------------------------------------------------------

    async def completion_async(
        self,
        messages: Sequence[ChatMessage],
        *,
        model: str,
        options: CompletionOptions | None = None,
    ) -> Operation:
        """Submit a deferred completion; poll with `wait_for_completion`."""
        uri = self.model_uri(model)
        options = with_reasoning_mode(uri, options, self.reasoning_mode)
        body = completion_body(uri, messages, options, stream=None)
        answer = await self._post("/foundationModels/v1/completionAsync", body, wire.Operation)
        return operation_of(answer)

    async def get_operation(self, operation_id: str) -> Operation:
        raw = await self._transport.request(
            "GET", f"{self.operation_url}/operations/{operation_id}", folder_header=False
        )
        return operation_of(wire.parse(raw, wire.Operation))

    async def cancel_operation(self, operation_id: str) -> Operation:
        raw = await self._transport.request(
            "POST", f"{self.operation_url}/operations/{operation_id}:cancel",
            json={}, folder_header=False,
        )
        return operation_of(wire.parse(raw, wire.Operation))

    async def wait_for_operation(
        self, operation_id: str, *, policy: PollPolicy | None = None
    ) -> Operation:
        """Poll until done (backoff, deadline); the finished operation may carry an error."""
        return await poll_until_done(
            self.get_operation, operation_id, policy or self.poll_policy, sleep=self._sleep
        )

    async def wait_for_completion(
        self, operation_id: str, *, policy: PollPolicy | None = None
    ) -> Completion:
        operation = await self.wait_for_operation(operation_id, policy=policy)
        raise_if_failed(operation)
        return completion_of(wire.parse_obj(operation.response or {}, wire.CompletionResult))

    # --- images ---------------------------------------------------------------------------

    async def start_image_generation(
        self, prompt: str, *, model: str, options: ImageOptions | None = None
    ) -> Operation:
        body = image_body(self.model_uri(model, "art"), prompt, options)
        try:
            answer = await self._post("/foundationModels/v1/imageGenerationAsync", body,
                                      wire.Operation)
        except BadRequestError as exc:
            if is_refusal(exc.message):
                raise ImageRefusedError(exc.message, code=exc.grpc_code) from None
            raise
        return operation_of(answer)

    async def generate_image(
        self, prompt: str, *, model: str, options: ImageOptions | None = None
    ) -> bytes:
        """One picture from the synchronous Images API (Alice AI ART): the bytes Yandex sent.

        Not retried once sent (a second request draws and bills again); raises
        ImageRefusedError on a moderation refusal."""
        body = images_body(images_uri(model, self.folder_id), prompt, options)
        try:
            raw = await self._transport.request(
                "POST", f"{self.images_url}{IMAGES_PATH}", json=body, retry=NO_RETRY,
                max_bytes=MAX_ANSWER_BYTES,
            )
        except BadRequestError as exc:
            if is_refusal(exc.message):
                raise ImageRefusedError(exc.message, code=exc.grpc_code) from None
            raise
        except ResponseTooLargeError as exc:
            # A 280 MB answer once cost 470 MB to read and decode whole (issue 61): the body
            # stops being read past the Base64 of the largest picture Telegram takes.
            raise OperationFailedError(
                f"the Images API's answer is too long for a picture Telegram shows ({exc})",
                operation_id="",
            ) from None
        return image_of(wire.parse(raw, ImagesResponse))

    async def wait_for_image(
        self, operation_id: str, *, policy: PollPolicy | None = None
    ) -> bytes:
        operation = await self.wait_for_operation(operation_id, policy=policy)
        if operation.error is not None and is_refusal(operation.error.message):
            raise ImageRefusedError(
                operation.error.message, operation_id=operation_id, code=operation.error.code
            )
        return jpeg_of(operation)
