"""A fake Yandex Cloud Foundation Models server (aiohttp on 127.0.0.1), for tests and e2e runs.

It speaks the documented REST wire format by hand (nothing imported from `bot`): checks the
Authorization header (`Api-Key`, or `Bearer` IAM tokens it issued) and the folder in model
URIs and `x-folder-id`; streams cumulative NDJSON paced in real time; keeps operations pending
for N polls; injects 429 (with or without Retry-After), 5xx, malformed lines, cut or dropped
streams, stalls and YandexART refusals; serves the IAM token exchange (verifying the JWT's PS256
signature and claims against a public key the test registered), the metadata service and the
OpenAI-compatible `/v1/chat/completions` (SSE) and the Responses API `/v1/responses`
(fm_responses.py) and the Images API `/v1/images/generations` (fm_images.py). One base URL
serves llm, operation, iam and
metadata paths; images in OpenAI-compatible messages and SpeechKit STT v1: fm_media.py.

Unscripted, a completion with `jsonSchema` answers JSON matching it (fm_structured.py: known
schemas by title, e.g. a handoff summary read from the transcript); any other completion
answers "Echo: <last user message>" in `default_chunks` chunks, and an
image generation finishes after `image_pending_polls` (2) polls with a small valid JPEG.
With `quote_sources` set, an unscripted completion whose system message lists numbered sources
("[1] Title" then text) answers with the first sentence of source 1 and cites it, as a grounded
model would; one whose system message quotes documents sent in chat (<document file=...
where=...>) answers with the first sentence of the excerpt nearest the question and says where
("(file, p. 2)"). Embeddings behave like real ones where retrieval depends on it (fm_payloads.py:
stemmed words and character trigrams hashed to 256 signed dimensions, normalised), and with
`embedding_rps_limit` set, a request beyond that many in any second gets 429 like the quota.

Python API::

    async with FakeFoundationModels(api_key="k", folder_id="f") as fm:
        fm.url; fm.queue_reply("text", chunks=5, interval=0.05, fault=None)
        fm.fail_next(429, retry_after=1); fm.queue_raw(path, parts=[...])
        fm.image_pending_polls = 3; fm.refuse_images = True; fm.refuse_images_in_operation = True
        fm.image_gate = fm.images_started + 8  # images pending until 8 more were started
        fm.auth.keys[kid] = (sa_id, public_pem)  # or fm.register_key(...)
        fm.expire_tokens(); fm.reject_next_auth(1)
        fm.requests  # RecordedRequest(method, path, headers, json); fm.paths()
        fm.max_active_generations; fm.stream_disconnects; fm.auth.iam_exchanges
        fm.images_received  # decoded images per request; fm.queue_transcript("text")
        fm.images_api_requests; fm.images_api_gate = asyncio.Event()  # Images API (fm_images)
        fm.stt_requests; fm.stt_forbidden = True  # SpeechKit STT (fm_media.py)
        fm.tts_requests; fm.tts_forbidden = True; fm.tts_gate = asyncio.Event()  # fm_speech.py

Process and control API (for out-of-process tests)::

    python -m tests.fakes.foundation_models_server --port 0 --api-key K --folder F [--script F]
    -> prints "LISTENING http://127.0.0.1:PORT" on stdout, serves until SIGTERM/SIGINT.

    POST /_control/script  JSON object or list of objects, each with an "action":
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
    GET /_control/requests -> [{"method", "path", "headers", "json", "peer", "at", "status"}, ...]
    --script FILE applies a JSON file of such actions at start.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import sys
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from aiohttp import web

from tests.fakes import fm_payloads as p
from tests.fakes.fm_auth import AuthState
from tests.fakes.fm_builtin_tools import BuiltinToolHandlers
from tests.fakes.fm_handlers import TextHandlers
from tests.fakes.fm_images import IMAGES_PATH, ImagesApiHandlers
from tests.fakes.fm_media import STT_PATH, MediaHandlers
from tests.fakes.fm_models import MODELS_PATH, ModelCatalog
from tests.fakes.fm_operations import OperationHandlers
from tests.fakes.fm_responses import RESPONSES_PATH, ResponsesHandlers
from tests.fakes.fm_scripts import Fault, RawReply, Reply, fault_from_json, reply_from_json
from tests.fakes.fm_speech import STT_ASYNC_PATH, STT_RESULT_PATH, TTS_PATH, SpeechHandlers
from tests.fakes.fm_vector_stores import FILES_PATH, STORES_PATH, VectorStoreHandlers

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
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


class FakeFoundationModels(BuiltinToolHandlers, ResponsesHandlers, MediaHandlers,
                           SpeechHandlers, TextHandlers, OperationHandlers, ModelCatalog,
                           VectorStoreHandlers, ImagesApiHandlers):
    def __init__(self, *, api_key: str = "test-key", folder_id: str = "test-folder",
                 host: str = "127.0.0.1", port: int = 0) -> None:
        self.api_key, self.folder_id, self.host, self.port = api_key, folder_id, host, port
        self.auth = AuthState(api_key=api_key)
        self.replies: deque[Reply] = deque()
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
        self.url = ""
        self._runner: web.AppRunner | None = None
        # Knowledge base (issue 16): an unscripted grounded prompt is answered by quoting its
        # source [1]; embeddings above `embedding_rps_limit` requests in any second get 429
        # like the real quota (0 = no limit); `embedding_429s` counts them.
        self.quote_sources = False
        self.embedding_rps_limit = 0.0
        self.embedding_times: deque[float] = deque()
        self.embedding_429s = 0
        self.init_media()  # images and SpeechKit STT (issue 28): fm_media.py
        self.init_speech()  # SpeechKit TTS and STT v3 async: fm_speech.py
        # Async mode (issue 26): completionAsync submits above `async_rps_limit` and operation
        # GETs above `operation_rps_limit` in any second get 429 (quotas 10 and 50 a second);
        # `async_429s` counts both.
        self.async_rps_limit = 0.0
        self.operation_rps_limit = 0.0
        self.async_times: deque[float] = deque()
        self.operation_times: deque[float] = deque()
        self.async_429s = 0
        # The Responses API (fm_responses.py): `usage: null`, as in Yandex's own example.
        self.responses_usage_null = False
        self.init_models()  # GET /v1/models and unknown models (fm_models.py)
        self.init_images_api()  # POST /v1/images/generations, Alice AI ART: fm_images.py
        self.init_vector_stores()  # Files and Vector Stores: fm_vector_stores.py
        self.init_builtin_tools()  # web_search and file_search: fm_builtin_tools.py

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
        self.auth.reject_next += times

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
                    self.auth.iam_token_lifetime = float(value)
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
            self.faults.clear()
            self.raw.clear()
            self.requests.clear()
        else:
            raise ValueError(f"unknown action {kind!r}")

    # --- lifecycle ----------------------------------------------------------------------------
    async def start(self) -> FakeFoundationModels:
        app = web.Application(middlewares=[self._middleware], client_max_size=64 * 2**20)
        app.router.add_route("*", "/{tail:.*}", self._dispatch)
        self._runner = web.AppRunner(app, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        server = site._server
        assert server is not None
        assert getattr(server, "sockets", None)
        self.port = server.sockets[0].getsockname()[1]  # type: ignore[attr-defined]
        self.url = f"http://{self.host}:{self.port}"
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FakeFoundationModels:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # --- request pipeline ---------------------------------------------------------------------
    @web.middleware
    async def _middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        body = _json(await request.read())
        path = request.path
        peer = request.transport.get_extra_info("peername") if request.transport else None
        record = RecordedRequest(
            request.method, path, dict(request.headers), body,
            f"{peer[0]}:{peer[1]}" if peer else "", asyncio.get_running_loop().time(),
        )
        self.requests.append(record)
        response = await self._screen(request, handler, path, body)
        record.status = response.status
        return response

    async def _screen(self, request: web.Request, handler: Handler, path: str,
                      body: Any) -> web.StreamResponse:
        """Auth, folder, model, injected faults and scripted raw replies, then the handler."""
        if path.startswith("/_control/"):
            return await handler(request)
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
                return await self.raw_reply(request, scripted)
        return await handler(request)

    async def _dispatch(self, request: web.Request) -> web.StreamResponse:
        path, body = request.path, _json(await request.read())
        if path == "/_control/script" and request.method == "POST":
            try:
                for action in body if isinstance(body, list) else [body]:
                    self.apply(action)
            except (ValueError, KeyError, TypeError) as exc:
                return web.json_response({"error": str(exc)}, status=400)
            return web.json_response({"ok": True})
        if path == "/_control/requests":
            return web.json_response([asdict(r) for r in self.requests
                                      if not r.path.startswith("/_control")])
        if path.startswith("/operations/"):
            if self._over(self.operation_times, self.operation_rps_limit):
                self.async_429s += 1
                return self.error(429, "ai.operationsGetRequestsPerSecond.rate quota limit exceed")
            return self._operation(request.method, path.removeprefix("/operations/"))
        if path == "/computeMetadata/v1/instance/service-accounts/default/token":
            if request.headers.get("Metadata-Flavor") != "Google":
                return self.error(403, "Metadata-Flavor: Google header is required")
            return web.json_response(self.auth.metadata_answer())
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
            return await self.vector_store_route(request, await request.read())
        if request.method != "POST" or not isinstance(body, dict):
            return self.error(404, f"no such method: {request.method} {path}")
        if path == "/iam/v1/tokens":
            return await self._iam(body)
        method = path.removeprefix("/foundationModels/v1/")
        if method == "completion":
            return await self.completion(request, body)
        if path == "/v1/chat/completions":
            return await self.openai_chat(request, body)
        if path == IMAGES_PATH:
            return await self.images_generations(body)
        if path == RESPONSES_PATH:  # built-in tools first (fm_builtin_tools.py)
            return await self.builtin_first(request, body)
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
            return self.error(400, problem) if problem else web.json_response(
                {"tokens": p.tokens_of(texts), "modelVersion": "07.03.2024"})
        if method == "textEmbedding":
            if self._embedding_over_quota():
                self.embedding_429s += 1
                return self.error(
                    429, "ai.textEmbeddingsRequestsPerSecond.rate quota limit exceed")
            problem = self.model_problem(body.get("modelUri"), "emb")
            text = str(body.get("text") or "")
            return self.error(400, problem) if problem else web.json_response(
                {"embedding": p.embedding_of(text), "numTokens": str(p.word_count(text)),
                 "modelVersion": "06.12.2023"})
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


def _json(raw: bytes) -> Any:
    try:
        return json.loads(raw) if raw else None
    except ValueError:
        return None


async def _serve(args: argparse.Namespace) -> None:
    fm = FakeFoundationModels(api_key=args.api_key, folder_id=args.folder, host=args.host,
                              port=args.port)
    if args.script:
        actions = json.loads(await asyncio.to_thread(Path(args.script).read_text, "utf-8"))
        for action in actions if isinstance(actions, list) else [actions]:
            fm.apply(action)
    await serve_until_signalled(fm)


async def serve_until_signalled(fm: FakeFoundationModels) -> None:
    """Process mode: start, announce the URL on stdout, serve until SIGTERM/SIGINT."""
    await fm.start()
    print(f"LISTENING {fm.url}", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    await fm.stop()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Fake Yandex Foundation Models server")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--api-key", default="test-key")
    parser.add_argument("--folder", default="test-folder")
    parser.add_argument("--script", default=None, help="JSON file of control actions")
    asyncio.run(_serve(parser.parse_args(argv)))


if __name__ == "__main__":
    main(sys.argv[1:])
