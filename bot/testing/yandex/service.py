"""The fake Yandex Cloud Foundation Models service: its state and its request handlers, served
in process (`transport()`, an httpx transport: what `BotTester` gives fmbot's clients) or, in
fmbot's own tests, on loopback HTTP (`FakeFoundationModels`, tests/fakes/yandex/server.py,
not in the wheel: aiohttp on 127.0.0.1, with the `/_control` API, for process tests and
manual runs). Both adapters hand the same `handle(Request) -> Response` their requests.

It speaks the documented REST wire format by hand (nothing imported from `bot`): checks the
Authorization header (`Api-Key`, or `Bearer` IAM tokens it issued) and the folder in model
URIs and `x-folder-id`; streams cumulative NDJSON paced in real time; keeps operations pending
for N polls; injects 429 (with or without Retry-After), 5xx, malformed lines, cut or dropped
streams, stalls and YandexART refusals; serves the IAM token exchange (verifying the JWT's PS256
signature and claims against a public key the test registered), the metadata service and the
OpenAI-compatible `/v1/chat/completions` (SSE) and the Responses API `/v1/responses`
(responses.py) and the Images API `/v1/images/generations` (images.py). One base URL
serves llm, operation, iam and
metadata paths; images in OpenAI-compatible messages and SpeechKit STT v1: media.py.

Unscripted, a completion with `jsonSchema` answers JSON matching it (structured.py: known
schemas by title, e.g. a handoff summary read from the transcript); any other completion
answers "Echo: <last user message>" in `default_chunks` chunks, and an
image generation finishes after `image_pending_polls` (2) polls with a small valid JPEG.
With `quote_sources` set, an unscripted completion whose system message lists numbered sources
("[1] Title" then text) answers with the first sentence of source 1 and cites it, as a grounded
model would; one whose system message quotes documents sent in chat (<document file=...
where=...>) answers with the first sentence of the excerpt nearest the question and says where
("(file, p. 2)"). Embeddings behave like real ones where retrieval depends on it (payloads.py:
stemmed words and character trigrams hashed to 256 signed dimensions, normalised), and with
`embedding_rps_limit` set, a request beyond that many in any second gets 429 like the quota;
a text over the models' 2,000 input tokens gets their 400 (payloads.embedding_tokens).

With a `decider` (bot.testing's `TestModel`), an unscripted completion is answered by it, and
what a voice recording says too: a scripted queue and a test model are two ways of deciding
answers on the same wire.

Python API::

    fm = FoundationModelsService(api_key="k", folder_id="f")
    httpx.AsyncClient(transport=fm.transport())  # (fmbot's tests: FakeFoundationModels, fm.url)
        fm.queue_reply("text", chunks=5, interval=0.05, fault=None)
        fm.fail_next(429, retry_after=1); fm.queue_raw(path, parts=[...])
        fm.image_pending_polls = 3; fm.refuse_images = True; fm.refuse_images_in_operation = True
        fm.image_gate = fm.images_started + 8  # images pending until 8 more were started
        fm.auth.keys[kid] = (sa_id, public_pem)  # or fm.register_key(...)
        fm.expire_tokens(); fm.reject_next_auth(1)
        fm.requests  # RecordedRequest(method, path, headers, json); fm.paths()
        fm.max_active_generations; fm.stream_disconnects; fm.auth.iam_exchanges
        fm.images_received  # decoded images per request; fm.queue_transcript("text")
        fm.images_api_requests; fm.images_api_gate = asyncio.Event()  # Images API (images.py)
        fm.stt_requests; fm.stt_forbidden = True  # SpeechKit STT (media.py)
        fm.tts_requests; fm.tts_forbidden = True; fm.tts_gate = asyncio.Event()  # speech.py

Control actions as JSON, `fm.apply(action)` (what the loopback server's `POST /_control/script`
and its `--script` file hand it), each an object with an "action":

    {"action": "reply", "text": ..., "chunks": 4 | [cumulative texts], "interval": 0.05,
     "status": "ALTERNATIVE_STATUS_FINAL", "fault": null | "malformed" | "cut" | "drop" |
     "stall" | "error_line", "fault_after": 1, "stall": 30}
    {"action": "fail", "status": 429, "retry_after": 1, "message": ..., "form": "object" |
     "string", "path": "/foundationModels/v1/completion", "times": 1}
    {"action": "set", "image_pending_polls": 2, "text_pending_polls": 1,
     "refuse_images": false, "refuse_images_in_operation": false, "default_chunks": 4,
     "default_interval": 0.02, "iam_token_lifetime": 43200, "quote_sources": false,
     "embedding_rps_limit": 0}
    {"action": "register_key", "key_id": ..., "service_account_id": ..., "public_key": PEM}
    {"action": "expire_tokens"}  {"action": "reject_auth", "times": 1}  {"action": "reset"}
"""

from __future__ import annotations

import asyncio
from collections import deque
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from bot.testing.yandex import payloads as p
from bot.testing.yandex.auth import AuthState
from bot.testing.yandex.builtin_tools import BuiltinToolHandlers
from bot.testing.yandex.catalog import MODELS_PATH, ModelCatalog
from bot.testing.yandex.exchange import Request, Response, json_response
from bot.testing.yandex.images import IMAGES_PATH, ImagesApiHandlers
from bot.testing.yandex.media import STT_PATH, MediaHandlers
from bot.testing.yandex.operations import OperationHandlers
from bot.testing.yandex.responses import RESPONSES_PATH, ResponsesHandlers
from bot.testing.yandex.scripts import Fault, RawReply, Reply, fault_from_json, reply_from_json
from bot.testing.yandex.speech import STT_ASYNC_PATH, STT_RESULT_PATH, TTS_PATH, SpeechHandlers
from bot.testing.yandex.text import Decider, TextHandlers
from bot.testing.yandex.vector_stores import FILES_PATH, STORES_PATH, VectorStoreHandlers

if TYPE_CHECKING:
    import httpx

SETTABLE = ("image_pending_polls", "text_pending_polls", "refuse_images",
            "refuse_images_in_operation", "default_chunks", "default_interval",
            "quote_sources", "embedding_rps_limit", "async_rps_limit", "operation_rps_limit",
            "responses_usage_null", "vector_stores_forbidden", "web_search_refused")


@dataclass
class RecordedRequest:
    method: str
    path: str
    headers: dict[str, str]
    json: Any
    peer: str = ""  # client "host:port": one value per TCP connection
    at: float = 0.0  # arrival, on the server loop's clock (time.monotonic: one per machine)
    status: int = 0  # of the answer (0 while it is being answered)


class FoundationModelsService(BuiltinToolHandlers, ResponsesHandlers, MediaHandlers,
                              SpeechHandlers, TextHandlers, OperationHandlers, ModelCatalog,
                              VectorStoreHandlers, ImagesApiHandlers):
    """The fake service (see the module docstring): its knobs, its queues, what it received,
    and `handle`, which answers one request whatever carried it."""

    def __init__(self, *, api_key: str = "test-key", folder_id: str = "test-folder",
                 decider: Decider | None = None) -> None:
        self.api_key, self.folder_id = api_key, folder_id
        self.decider = decider
        self.auth = AuthState(api_key=api_key)
        self.replies: deque[Reply] = deque()
        self.breaks: deque[dict[str, Any]] = deque()  # faults for the next answers
        self.faults: deque[Fault] = deque()
        self.raw: deque[RawReply] = deque()
        self.requests: list[RecordedRequest] = []
        self.operations: dict[str, dict[str, Any]] = {}
        self.image_pending_polls = 2
        # An image operation stays pending while fewer image operations than this were
        # started (so a test can prove jobs run side by side: the first waits for the last).
        self.image_gate = 0
        self.images_started = 0
        self.text_pending_polls = 1
        self.async_completions = 0  # completionAsync requests accepted
        self.refuse_images = False
        self.refuse_images_in_operation = False
        self.image_bytes = p.tiny_jpeg()
        self.default_chunks = 4
        self.default_interval = 0.0
        self.active_generations = 0
        self.max_active_generations = 0
        self.stream_disconnects = 0
        self.stream_closed = asyncio.Event()  # set when a client closes a stream early
        self.stream_lines_written = 0  # lines of the last stream the server wrote
        self.url = ""  # the loopback server's address, once it serves
        # Knowledge base (issue 16): an unscripted grounded prompt is answered by quoting its
        # source [1]; embeddings above `embedding_rps_limit` requests in any second get 429
        # like the real quota (0 = no limit); `embedding_429s` counts them.
        self.quote_sources = False
        self.embedding_rps_limit = 0.0
        self.embedding_times: deque[float] = deque()
        self.embedding_429s = 0
        self.init_media()  # images and SpeechKit STT (issue 28): media.py
        self.init_speech()  # SpeechKit TTS and STT v3 async: speech.py
        # Async mode (issue 26): completionAsync submits above `async_rps_limit` and operation
        # GETs above `operation_rps_limit` in any second get 429 (quotas 10 and 50 a second);
        # `async_429s` counts both.
        self.async_rps_limit = 0.0
        self.operation_rps_limit = 0.0
        self.async_times: deque[float] = deque()
        self.operation_times: deque[float] = deque()
        self.async_429s = 0
        # The Responses API (responses.py): `usage: null`, as in Yandex's own example.
        self.responses_usage_null = False
        self.init_models()  # GET /v1/models and unknown models (catalog.py)
        self.init_images_api()  # POST /v1/images/generations, Alice AI ART: images.py
        self.init_vector_stores()  # Files and Vector Stores: vector_stores.py
        self.init_builtin_tools()  # web_search and file_search: builtin_tools.py

    # --- scripting ----------------------------------------------------------------------------
    def queue_reply(self, text: str, **kwargs: Any) -> None:
        self.replies.append(Reply(text, **kwargs))

    def fail_next(self, status: int = 429, *, retry_after: float | str | None = None,
                  **kwargs: Any) -> None:
        ra = None if retry_after is None else str(retry_after)
        self.faults.append(Fault(status, retry_after=ra, **kwargs))

    def queue_raw(self, path: str, *, parts: list[bytes], status: int = 200,
                  content_type: str = "application/json", interval: float = 0.0) -> None:
        self.raw.append(RawReply(path, status, parts, content_type, interval))

    def register_key(self, key_id: str, service_account_id: str, public_key_pem: str) -> None:
        self.auth.keys[key_id] = (service_account_id, public_key_pem)

    def expire_tokens(self) -> None:
        """Every IAM token issued so far is now refused with 401 (expired mid-run)."""
        self.auth.expire_all()

    def reject_next_auth(self, times: int = 1) -> None:
        """The next `times` API requests get 401 whatever their credentials."""
        self.auth.reject(times)

    def paths(self) -> list[str]:
        return [r.path for r in self.requests if not r.path.startswith("/_control")]

    def apply(self, action: dict[str, Any]) -> None:
        """Apply one control action (see the module docstring)."""
        data = dict(action)
        kind = data.pop("action", None)
        if kind == "reply":
            self.replies.append(reply_from_json(data))
        elif kind == "fail":
            self.faults.append(fault_from_json(data))
        elif kind == "set":
            for key, value in data.items():
                if key == "iam_token_lifetime":
                    self.auth.lifetime(float(value))
                elif key in ("served_models", "unlisted_models"):  # JSON lists -> sets
                    setattr(self, key, None if value is None else set(value))
                elif key in SETTABLE:
                    setattr(self, key, value)
                else:
                    raise ValueError(f"cannot set {key!r}")
        elif kind == "register_key":
            self.register_key(data["key_id"], data["service_account_id"], data["public_key"])
        elif kind == "expire_tokens":
            self.expire_tokens()
        elif kind == "reject_auth":
            self.reject_next_auth(int(data.get("times", 1)))
        elif kind == "reset":
            self.replies.clear()
            self.breaks.clear()
            self.faults.clear()
            self.raw.clear()
            self.requests.clear()
        else:
            raise ValueError(f"unknown action {kind!r}")

    def transport(self) -> httpx.AsyncBaseTransport:
        """An httpx transport answering in process (no socket): what `BotTester` gives
        fmbot's clients."""
        from bot.testing.yandex.transport import ServiceTransport

        return ServiceTransport(self)

    # --- request pipeline ---------------------------------------------------------------------
    async def handle(self, request: Request) -> Response:
        """Answer one request: recorded, screened (auth, folder, model, injected faults,
        scripted raw replies), then dispatched by path."""
        body = request.json()
        record = RecordedRequest(request.method, request.path, dict(request.headers), body,
                                 request.peer, asyncio.get_running_loop().time())
        self.requests.append(record)
        response = await self._screen(request, body)
        record.status = response.status
        return response

    async def _screen(self, request: Request, body: Any) -> Response:
        path = request.path
        if path.startswith("/_control/"):  # the loopback server's test API: no auth, no faults
            return await self._dispatch(request, body)
        if not path.startswith(("/iam/", "/computeMetadata/")):
            problem = self.auth.check(request.headers.get("Authorization"),
                                      allow_bearer_key=path.startswith("/v1/"))
            if problem is not None:
                return self.error(401, problem)
            folder = request.headers.get("x-folder-id")
            if folder is not None and folder != self.folder_id:
                return self.error(400, f"Specified folder ID '{folder}' does not match with "
                                       "service account folder ID")
        unknown = self.unknown_model(body)
        if unknown is not None:
            return self.error(404, unknown)
        for fault in self.faults:
            if fault.matches(path):
                fault.times -= 1
                if fault.times <= 0:
                    self.faults.remove(fault)
                headers = {"Retry-After": fault.retry_after} if fault.retry_after else None
                return self.error(fault.status, fault.message or f"injected {fault.status}",
                                  form=fault.form, headers=headers)
        for scripted in self.raw:
            if scripted.path == path:
                self.raw.remove(scripted)
                return self.raw_reply(scripted)
        return await self._dispatch(request, body)

    async def _dispatch(self, request: Request, body: Any) -> Response:
        path = request.path
        if path.startswith("/operations/"):
            if self._over(self.operation_times, self.operation_rps_limit):
                self.async_429s += 1
                return self.error(429, "ai.operationsGetRequestsPerSecond.rate quota limit exceed")
            return self._operation(request.method, path.removeprefix("/operations/"))
        if path == "/computeMetadata/v1/instance/service-accounts/default/token":
            if request.headers.get("Metadata-Flavor") != "Google":
                return self.error(403, "Metadata-Flavor: Google header is required")
            return json_response(self.auth.metadata_answer())
        if path == MODELS_PATH and request.method == "GET":
            return self.models_listing()
        if path == STT_PATH and request.method == "POST":
            return await self.stt(request)
        if path == TTS_PATH and request.method == "POST":
            return await self.tts(request)
        if path == STT_ASYNC_PATH and request.method == "POST":
            return await self.stt_async(request)
        if path == STT_RESULT_PATH and request.method == "GET":
            return await self.stt_result(request)
        if path.startswith((FILES_PATH, STORES_PATH)):
            return await self.vector_store_route(request)
        if request.method != "POST" or not isinstance(body, dict):
            return self.error(404, f"no such method: {request.method} {path}")
        if path == "/iam/v1/tokens":
            return await self._iam(body)
        method = path.removeprefix("/foundationModels/v1/")
        if method == "completion":
            return await self.completion(body)
        if path == "/v1/chat/completions":
            return await self.openai_chat(body)
        if path == IMAGES_PATH:
            return await self.images_generations(body)
        if path == RESPONSES_PATH:  # built-in tools first (builtin_tools.py)
            return await self.builtin_first(body)
        if method == "completionAsync":
            if self._over(self.async_times, self.async_rps_limit):
                self.async_429s += 1
                return self.error(429, "ai.textGenerationAsyncRequestsPerSecond.rate quota "
                                       "limit exceed")
            return self._start_text_operation(body)
        if method == "imageGenerationAsync":
            return self._start_image_operation(body)
        if method in ("tokenizeCompletion", "tokenize"):
            texts = ([str(m.get("text") or "") for m in body.get("messages") or []]
                     if method == "tokenizeCompletion" else [str(body.get("text") or "")])
            problem = self.model_problem(body.get("modelUri"), "gpt")
            return self.error(400, problem) if problem else json_response(
                {"tokens": p.tokens_of(texts), "modelVersion": "07.03.2024"})
        if method == "textEmbedding":
            if self._embedding_over_quota():
                self.embedding_429s += 1
                return self.error(
                    429, "ai.textEmbeddingsRequestsPerSecond.rate quota limit exceed")
            problem = self.model_problem(body.get("modelUri"), "emb")
            text = str(body.get("text") or "")
            if problem:
                return self.error(400, problem)
            tokens = p.embedding_tokens(text)
            if tokens > p.EMBEDDING_MAX_TOKENS:  # Yandex's own refusal, as it words it
                return self.error(400, "number of input tokens must be no more than "
                                       f"{p.EMBEDDING_MAX_TOKENS}, got {tokens}")
            vector = self.decider.embedding(text) if self.decider is not None else None
            return json_response(
                {"embedding": vector if vector is not None else p.embedding_of(text),
                 "numTokens": str(tokens), "modelVersion": "06.12.2023"})
        if method in ("fewShotTextClassification", "textClassification"):
            return self._classify(body)
        return self.error(404, f"no such method: {path}")


    @staticmethod
    def _over(times: deque[float], limit: float) -> bool:
        if not limit:
            return False
        now = asyncio.get_running_loop().time()
        while times and times[0] <= now - 1.0:
            times.popleft()
        if len(times) >= limit:
            return True
        times.append(now)
        return False

    def _embedding_over_quota(self) -> bool:
        if not self.embedding_rps_limit:
            return False
        now = asyncio.get_running_loop().time()
        while self.embedding_times and self.embedding_times[0] <= now - 1.0:
            self.embedding_times.popleft()
        if len(self.embedding_times) >= self.embedding_rps_limit:
            return True
        self.embedding_times.append(now)
        return False
