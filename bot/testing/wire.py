"""The Foundation Models wire, answered in process: the transport `BotTester`'s models share.

fmbot's real clients (the native completion API, streams included, the tokenizer,
embeddings, classifiers, the OpenAI-compatible chat API, SpeechKit's recognition) call it as
they would call Yandex, over an `httpx` transport instead of sockets. What a model answers is
decided by a `TestModel` subclass (`answer`); this module only speaks the wire
(https://yandex.cloud/docs/foundation-models/text-generation/api-ref/TextGeneration/completion):
numbers of tokens as strings, a streamed answer as cumulative NDJSON lines, tool calls as a
`toolCallList` with status `ALTERNATIVE_STATUS_TOOL_CALLS`.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx

from bot.testing.telegram.ogg import ogg_opus


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
    """

    __test__ = False  # not a pytest test class, whatever its name

    def __init__(self) -> None:
        self.asked: list[ModelRequest] = []
        self.requests: list[dict[str, Any]] = []
        self.transcripts: dict[bytes, str] = {}  # voice notes' bytes -> what was said

    def answer(self, request: ModelRequest) -> ModelAnswer:
        """The answer to one completion request."""
        raise NotImplementedError

    def _ask(self, request: ModelRequest) -> ModelAnswer:
        self.asked.append(request)
        return self.answer(request)

    def transport(self) -> httpx.AsyncBaseTransport:
        """The httpx transport fmbot's model clients are given."""
        return _Transport(self)

    async def respond(self, request: httpx.Request) -> httpx.Response:
        """One HTTP request of the Foundation Models (or SpeechKit) API, answered."""
        path = request.url.path
        if path.endswith("/stt:recognize"):
            said = self.transcripts.get(request.content, "")
            return httpx.Response(200, json={"result": said})
        if path.endswith("/tts:synthesize"):  # a spoken answer: a second of OggOpus silence
            return httpx.Response(200, headers={"content-type": "audio/ogg"},
                                  content=ogg_opus(1.0))
        body = json.loads(request.content or b"{}")
        method = path.rsplit("/", 1)[-1]
        if path.endswith("/chat/completions"):
            return self._openai(body)
        if method == "completion":
            return self._completion(body)
        if method in ("tokenize", "tokenizeCompletion"):
            texts = [str(m.get("text") or "") for m in body.get("messages", [])] or [
                str(body.get("text") or "")
            ]
            tokens = [{"id": str(i), "text": "\u2581" + w}
                      for i, w in enumerate(" ".join(texts).split())]
            return httpx.Response(200, json={"tokens": tokens, "modelVersion": "test"})
        if method == "textEmbedding":
            text = str(body.get("text") or "")
            return httpx.Response(200, json={"embedding": embedding_of(text),
                                             "numTokens": str(len(text.split())),
                                             "modelVersion": "test"})
        if method in ("fewShotTextClassification", "textClassification"):
            labels = [str(d.get("label")) for d in body.get("samples", [])] or ["none"]
            labels = list(dict.fromkeys(labels))
            predictions = [{"label": label, "confidence": 1.0 if i == 0 else 0.0}
                           for i, label in enumerate(labels)]
            return httpx.Response(200, json={"predictions": predictions,
                                             "modelVersion": "test"})
        return httpx.Response(404, json={"error": {"grpcCode": 5, "httpCode": 404,
                                         "message": f"no such method: {path}",
                                         "httpStatus": "Not Found"}})

    # -- the native completion API ---------------------------------------------------------------

    def _completion(self, body: dict[str, Any]) -> httpx.Response:
        self.requests.append(body)
        messages = [m for m in body.get("messages", []) if isinstance(m, dict)]
        tools = tuple(
            str((t.get("function") or {}).get("name", "")) for t in body.get("tools", []) or []
        )
        answer = self._ask(request_of(messages, tools, "text"))
        usage_in = sum(len(str(m.get("text") or "").split()) for m in messages)
        stream = bool((body.get("completionOptions") or {}).get("stream"))
        lines = [_result(text, status, usage_in) for text, status in _frames(answer)]
        if answer.tool_calls:
            lines.append(_calls_result(answer.tool_calls, usage_in))
        if not stream:
            return httpx.Response(200, json={"result": lines[-1]})
        encoded = [json.dumps({"result": line}, ensure_ascii=False).encode() + b"\n"
                   for line in lines]
        return httpx.Response(200, headers={"content-type": "application/json"},
                              stream=_Lines(encoded))

    # -- the OpenAI-compatible API (TEXT_API=openai, the vision model) -------------------------

    def _openai(self, body: dict[str, Any]) -> httpx.Response:
        self.requests.append(body)
        messages = [m for m in body.get("messages", []) if isinstance(m, dict)]
        tools = tuple(
            str((t.get("function") or {}).get("name", "")) for t in body.get("tools", []) or []
        )
        answer = self._ask(request_of(messages, tools, "content"))
        model = str(body.get("model", ""))
        message: dict[str, Any] = {"role": "assistant", "content": answer.text}
        finish = "stop"
        if answer.tool_calls:
            finish = "tool_calls"
            message["tool_calls"] = [
                {"id": f"call-{i}", "type": "function",
                 "function": {"name": name, "arguments": json.dumps(dict(args))}}
                for i, (name, args) in enumerate(answer.tool_calls)
            ]
        usage = {"prompt_tokens": 1, "completion_tokens": len(answer.text.split()),
                 "total_tokens": 1 + len(answer.text.split())}
        if not body.get("stream"):
            return httpx.Response(200, json={
                "id": "test", "object": "chat.completion", "created": 0, "model": model,
                "choices": [{"index": 0, "message": message, "finish_reason": finish}],
                "usage": usage})
        chunks: list[dict[str, Any]] = [{"role": "assistant", "content": answer.text}]
        if answer.tool_calls:
            chunks.append({"tool_calls": [{"index": i, **call}
                                          for i, call in enumerate(message["tool_calls"])]})
        events = [
            {"id": "test", "object": "chat.completion.chunk", "created": 0, "model": model,
             "choices": [{"index": 0, "delta": delta}]} for delta in chunks
        ]
        events.append({"id": "test", "object": "chat.completion.chunk", "created": 0,
                       "model": model, "choices": [{"index": 0, "delta": {},
                       "finish_reason": finish}], "usage": usage})
        encoded = [b"data: " + json.dumps(e, ensure_ascii=False).encode() + b"\n\n"
                   for e in events] + [b"data: [DONE]\n\n"]
        return httpx.Response(200, headers={"content-type": "text/event-stream"},
                              stream=_Lines(encoded))


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


def _frames(answer: ModelAnswer) -> list[tuple[str, str]]:
    """The cumulative texts of a streamed answer, each with its status."""
    if answer.tool_calls and not answer.text:
        return []
    words = answer.text.split(" ")
    count = max(1, min(answer.chunks, len(words)))
    texts = [" ".join(words[: max(1, round(len(words) * i / count))]) for i in range(1, count)]
    texts.append(answer.text)
    final = "ALTERNATIVE_STATUS_PARTIAL" if answer.tool_calls else "ALTERNATIVE_STATUS_FINAL"
    return [(t, "ALTERNATIVE_STATUS_PARTIAL") for t in texts[:-1]] + [(texts[-1], final)]


def _usage(tokens_in: int, tokens_out: int) -> dict[str, Any]:
    return {"inputTextTokens": str(tokens_in), "completionTokens": str(tokens_out),
            "totalTokens": str(tokens_in + tokens_out)}


def _result(text: str, status: str, tokens_in: int) -> dict[str, Any]:
    return {"alternatives": [{"message": {"role": "assistant", "text": text},
                              "status": status}],
            "usage": _usage(tokens_in, len(text.split())), "modelVersion": "test"}


def _calls_result(
    calls: tuple[tuple[str, Mapping[str, Any]], ...], tokens_in: int
) -> dict[str, Any]:
    listed = [{"functionCall": {"name": name, "arguments": dict(args)}} for name, args in calls]
    return {"alternatives": [{"message": {"role": "assistant",
                                          "toolCallList": {"toolCalls": listed}},
                              "status": "ALTERNATIVE_STATUS_TOOL_CALLS"}],
            "usage": _usage(tokens_in, 5 * len(calls)), "modelVersion": "test"}


def embedding_of(text: str, dim: int = 256) -> list[float]:
    """A vector in which texts sharing words (after stemming, stop words left out) and word
    pieces are close: each stem and each of its character trigrams is hashed to a signed
    coordinate (feature hashing), as a real embedding model behaves for retrieval."""
    from bot.features.testing import embedding_words

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


@dataclass(slots=True)
class _Lines(httpx.AsyncByteStream):
    lines: list[bytes] = field(default_factory=list)

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for line in self.lines:
            yield line


class _Transport(httpx.AsyncBaseTransport):
    def __init__(self, model: TestModel) -> None:
        self.model = model

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        await request.aread()
        return await self.model.respond(request)
