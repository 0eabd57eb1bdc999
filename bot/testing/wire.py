"""The Foundation Models wire, answered in process: the transport `BotTester`'s models share.

fmbot's real clients (the native completion API, streams included, the tokenizer,
embeddings, classifiers, the OpenAI-compatible and Responses APIs, images, SpeechKit's
recognition and synthesis) call it as they would call Yandex, over an `httpx` transport
instead of sockets. The wire is spoken by the kit's fake Foundation Models service
(bot/testing/yandex), the same one fmbot's own process tests reach over loopback HTTP; what a
model answers is decided by a `TestModel` subclass (`answer`), and what it does wrong by the
faults it is given (`fail_next`, `break_next`, `filter_next`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from bot.testing.yandex.scripts import Reply
from bot.testing.yandex.service import FoundationModelsService
from bot.testing.yandex.transport import ServiceTransport

STREAM_FAULTS = ("cut", "malformed", "stall", "drop", "error_line")


@dataclass(frozen=True, slots=True)
class ModelRequest:
    """What the bot asked the model, as a test model sees it."""

    question: str
    """The latest user message's text."""
    system: str
    """The system prompt (with the context providers' and the knowledge base's text)."""
    messages: tuple[Mapping[str, Any], ...]
    """Every message as sent (role, text or tool calls/results)."""
    tools: tuple[str, ...] = ()
    """The names of the function tools this request offered the model (the App's, plugins'
    and TOOLS_FILE's, as far as the chat may use them); () when none was offered."""
    tool_results: tuple[str, ...] = ()
    """Results of the tool calls made since the question, oldest first."""


@dataclass(frozen=True, slots=True)
class ModelAnswer:
    """What a test model answers: text, or tool calls."""

    text: str = ""
    """The answer's text."""
    tool_calls: tuple[tuple[str, Mapping[str, Any]], ...] = ()
    """(tool name, arguments) to call instead of answering."""
    chunks: int = 3
    """How many cumulative lines a streamed answer is sent in (what the drafts show)."""


class TestModel:
    """The base of the test models: answers the Foundation Models API in process.

    A subclass decides the answer (`answer`); every completion request is kept, oldest
    first, in `asked` (each a `ModelRequest`: the question, the system prompt, the messages,
    the tools offered) for a test that looks at the prompt, and in `requests` as the JSON body
    sent on the wire (for a test of the wire itself).

    `service` is the fake Foundation Models service answering for the model
    (bot/testing/yandex/service.py): its knobs (`image_pending_polls`, `refuse_images`,
    `tts_forbidden`, `queue_web_search(...)`, ...) and what it received (`requests` with every
    path, `tts_requests`, `stt_requests`, `images_received`, ...).
    """

    __test__ = False  # not a pytest test class, whatever its name

    def __init__(self) -> None:
        self.asked: list[ModelRequest] = []
        self.requests: list[dict[str, Any]] = []
        self.transcripts: dict[bytes, str] = {}  # voice notes' bytes -> what was said
        self.service = FoundationModelsService(decider=_Decider(self))

    def answer(self, request: ModelRequest) -> ModelAnswer:
        """The answer to one completion request."""
        raise NotImplementedError

    # -- faults ----------------------------------------------------------------------------------

    def fail_next(self, status: int = 429, *, retry_after: float | None = None,
                  times: int = 1, path: str | None = None, message: str = "") -> None:
        """The next `times` requests (to any model API, or those whose path contains `path`,
        e.g. "/completion") are refused with `status` and Yandex's error body; `retry_after`
        seconds are sent as the Retry-After header."""
        self.service.fail_next(status, retry_after=retry_after, times=times, path=path,
                               message=message)

    def break_next(self, how: str = "cut", *, after: int = 1, seconds: float = 30.0) -> None:
        """The next streamed answer breaks after `after` of its lines: "cut" (the body ends
        without the final line), "malformed" (a line that is not JSON), "stall" (nothing
        more for `seconds`), "drop" (the connection is lost), "error_line" (an error line,
        as Yandex sends for a quota hit mid-stream)."""
        if how not in STREAM_FAULTS:
            raise ValueError(f"break_next: {how!r} is none of {', '.join(STREAM_FAULTS)}")
        self.service.break_next(fault=how, fault_after=after, stall=seconds)

    def filter_next(self) -> None:
        """The next answer is stopped by Yandex's content filter (its final status
        ALTERNATIVE_STATUS_CONTENT_FILTER), after what it said so far."""
        self.service.break_next(status="ALTERNATIVE_STATUS_CONTENT_FILTER")

    # -- the wire --------------------------------------------------------------------------------

    def _ask(self, request: ModelRequest) -> ModelAnswer:
        self.asked.append(request)
        return self.answer(request)

    def _decide(self, body: dict[str, Any], messages: list[dict[str, Any]],
                key: str) -> Reply | None:
        """One completion's answer on the wire (None: the service's own)."""
        self.requests.append(body)
        tools = tuple(_tool_name(t) for t in body.get("tools") or [] if _tool_name(t))
        answer = self._ask(request_of([m for m in messages if isinstance(m, dict)], tools, key))
        calls = [{"name": name, "arguments": dict(arguments)}
                 for name, arguments in answer.tool_calls]
        return Reply(answer.text, chunks=answer.chunks, tool_calls=calls or None)

    def _embed(self, text: str) -> list[float] | None:
        """A text's embedding (None: the service's own)."""
        return embedding_of(text)

    def transport(self) -> httpx.AsyncBaseTransport:
        """The httpx transport fmbot's model clients are given."""
        return _Transport(self)

    async def respond(self, request: httpx.Request) -> httpx.Response:
        """One HTTP request of the Foundation Models (or SpeechKit) API, answered."""
        return await ServiceTransport(self.service).handle_async_request(request)


class _Decider:
    """The service's decider for a `TestModel`: its answers, its voice notes' words."""

    def __init__(self, model: TestModel) -> None:
        self.model = model

    def reply(self, body: dict[str, Any], messages: list[dict[str, Any]],
              key: str) -> Reply | None:
        return self.model._decide(body, messages, key)

    def heard(self, audio: bytes) -> str | None:
        return self.model.transcripts.get(audio)

    def embedding(self, text: str) -> list[float] | None:
        return self.model._embed(text)


def _tool_name(tool: Any) -> str:
    """A function tool's name (native and OpenAI: under `function`; Responses: at the top)."""
    if not isinstance(tool, dict) or tool.get("type", "function") != "function":
        return ""
    return str((tool.get("function") or {}).get("name") or tool.get("name") or "")


def request_of(
    messages: list[dict[str, Any]], tools: tuple[str, ...], key: str
) -> ModelRequest:
    """A completion request's messages (native `text` or OpenAI `content`) as a
    `ModelRequest`."""
    system = "\n\n".join(_text(m.get(key)) for m in messages if m.get("role") == "system")
    last_user = max((i for i, m in enumerate(messages) if m.get("role") == "user"
                     and _text(m.get(key))), default=-1)
    question = _text(messages[last_user].get(key)) if last_user >= 0 else ""
    results: list[str] = []
    for message in messages[last_user + 1:]:
        listed = (message.get("toolResultList") or {}).get("toolResults") or []
        for item in listed:
            results.append(str((item.get("functionResult") or {}).get("content", "")))
        if message.get("role") == "tool":
            results.append(_text(message.get("content")))
    return ModelRequest(question, system, tuple(messages), tools, tuple(results))


def _text(value: Any) -> str:
    if isinstance(value, list):  # OpenAI content parts
        return " ".join(str(p.get("text", "")) for p in value if isinstance(p, dict))
    return str(value or "")


def embedding_of(text: str, dim: int = 256) -> list[float]:
    """A vector in which texts sharing words (the knowledge base's stems, its stop words left
    out) and word pieces are close: each stem and each of its character trigrams is hashed to
    a signed coordinate (feature hashing), as a real embedding model behaves for retrieval, so
    a knowledge base searched with its default KB_MIN_SCORE finds what a question names."""
    from bot.reading.stemming import stems as embedding_words

    values = [0.0] * dim
    for stem in embedding_words(text):
        padded = f"<{stem}>"
        features = [(stem, 1.0)] + [(padded[i:i + 3], 0.4) for i in range(len(padded) - 2)]
        for feature, weight in features:
            digest = hashlib.blake2b(feature.encode(), digest_size=8).digest()
            index = int.from_bytes(digest[:4], "big") % dim
            values[index] += weight if digest[4] & 1 else -weight
    norm = sum(v * v for v in values) ** 0.5
    if norm == 0:
        values[0], norm = 1.0, 1.0
    return [v / norm for v in values]


class _Transport(httpx.AsyncBaseTransport):
    def __init__(self, model: TestModel) -> None:
        self.model = model

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        await request.aread()
        return await self.model.respond(request)
