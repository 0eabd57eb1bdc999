"""Request handlers of the fake Foundation Models service: text completions (streamed as
cumulative NDJSON), the OpenAI-compatible chat API (SSE) and scripted raw bytes.

Mixed into `FoundationModelsService`; the state (queues, counters) lives there.
"""

from __future__ import annotations

import asyncio
import json
from collections import deque
from collections.abc import AsyncIterator
from typing import Any, Protocol

from bot.testing.yandex import payloads as p
from bot.testing.yandex.exchange import Drop, Response, Stream, json_response
from bot.testing.yandex.scripts import Fault, RawReply, Reply
from bot.testing.yandex.structured import structured_answer


class Decider(Protocol):
    """Who decides the answers when no reply is scripted: a test model (bot.testing's
    `TestModel`). `reply` gets the request's JSON body, its messages as sent (native `text`
    or OpenAI `content`, `key` says which) and gives the answer (None: the service's own);
    `heard` gives what a voice recording says, `embedding` a text's vector (None: the
    service's own)."""

    def reply(self, body: dict[str, Any], messages: list[dict[str, Any]],
              key: str) -> Reply | None:
        ...

    def heard(self, audio: bytes) -> str | None:
        ...

    def embedding(self, text: str) -> list[float] | None:
        ...


class TextHandlers:
    folder_id: str
    replies: deque[Reply]
    faults: deque[Fault]
    raw: deque[RawReply]
    default_chunks: int
    default_interval: float
    active_generations: int
    max_active_generations: int
    stream_disconnects: int
    stream_closed: asyncio.Event
    stream_lines_written: int
    decider: Decider | None
    breaks: deque[dict[str, Any]]
    searched: Reply | None

    quote_sources: bool

    def flatten_messages(
        self, messages: list[dict[str, Any]]
    ) -> tuple[list[dict[str, Any]], int] | str:
        raise NotImplementedError  # MediaHandlers'

    def decide(self, body: dict[str, Any], messages: list[dict[str, Any]], key: str = "text",
               *, schema: dict[str, Any] | None = None,
               sent: list[dict[str, Any]] | None = None) -> Reply:
        """The answer to a completion: the models check's probe; unless a reply is scripted,
        the decider's (the messages as `sent`, before images were decoded) or the structured
        analyst's for a `schema`; else `reply_for`."""
        if len(messages) == 1 and messages[0].get(key) == "ping":
            # fmbot's models check probes with one "ping": it never takes a scripted reply.
            return Reply("pong", chunks=1)
        reply = self._decided(body, messages, key, schema, sent)
        if self.breaks:  # a fault for the next answer, whoever decided it
            for name, value in self.breaks.popleft().items():
                setattr(reply, name, value)
        return reply

    def _decided(self, body: dict[str, Any], messages: list[dict[str, Any]], key: str,
                 schema: dict[str, Any] | None, sent: list[dict[str, Any]] | None) -> Reply:
        searched, self.searched = self.searched, None
        if self.decider is not None and not self.replies:
            reply = self.decider.reply(body, sent if sent is not None else messages, key)
            if reply is not None:
                return reply
        if searched is not None and not self.replies:
            return searched
        if schema is not None and not self.replies:
            transcript = messages if key == "text" else [
                {"role": m.get("role"), "text": m.get("content")} for m in messages]
            return Reply(structured_answer(schema, transcript))
        return self.reply_for(messages, key)

    def break_next(self, **fields: Any) -> None:
        """The next answer, however decided, gets these `Reply` fields (e.g. `fault="cut"`,
        `status="ALTERNATIVE_STATUS_CONTENT_FILTER"`)."""
        unknown = set(fields) - set(Reply.__dataclass_fields__)
        if unknown:
            raise ValueError(f"unknown reply fields: {sorted(unknown)}")
        self.breaks.append(fields)

    def reply_for(self, messages: list[dict[str, Any]], key: str = "text") -> Reply:
        """The next scripted reply, else the service's own answer: a quote of the sources
        (`quote_sources`), the tool results, or an echo of the question."""
        if self.replies:
            return self.replies.popleft()
        if self.quote_sources:
            system = next((m.get(key) or "" for m in messages if m.get("role") == "system"), "")
            asked = next((m.get(key) or "" for m in reversed(messages)
                          if m.get("role") == "user"), "")
            quoted = p.quote_first_source(str(system))
            if quoted is None and isinstance(asked, str):  # documents sent in chat (issue 28)
                quoted = p.quote_document(str(system), asked)
            if quoted is not None:
                return Reply(quoted, chunks=self.default_chunks, interval=self.default_interval)
        results = _tool_results(messages[-1])
        if results is not None:
            return Reply(f"Result: {results}", chunks=self.default_chunks,
                         interval=self.default_interval)
        last = next((m.get(key) or "" for m in reversed(messages) if m.get("role") == "user"), "")
        if not isinstance(last, str):
            last = json.dumps(last)
        return Reply(f"Echo: {last}", chunks=self.default_chunks, interval=self.default_interval)

    @staticmethod
    def error(status: int, message: str, *, form: str = "object",
              headers: dict[str, str] | None = None) -> Response:
        return json_response(p.error_body(status, message, form=form), status=status,
                             headers={"x-request-id": "fake-error", **(headers or {})})

    def model_problem(self, uri: Any, scheme: str) -> str | None:
        if not isinstance(uri, str) or not uri.startswith(f"{scheme}://"):
            return f"invalid model_uri: {uri!r}"
        folder = uri.split("://", 1)[1].split("/", 1)[0]
        if folder != self.folder_id:
            return f"Specified folder ID '{folder}' does not match with service account folder ID"
        return None

    def generating(self) -> None:
        """A generation starts (`generated` when it ends)."""
        self.active_generations += 1
        self.max_active_generations = max(self.max_active_generations, self.active_generations)

    def generated(self, completed: bool) -> None:
        self.active_generations -= 1
        if not completed:  # the client closed the stream early
            self.stream_disconnects += 1
            self.stream_closed.set()

    def streamed(self, parts: AsyncIterator[bytes], content_type: str,
                 request_id: str) -> Response:
        """A generation's streamed answer (counted among the active ones until it ends)."""
        self.generating()
        return Response(200, {"Content-Type": content_type, "x-request-id": request_id},
                        stream=Stream(parts, self.generated))

    async def completion(self, body: dict[str, Any]) -> Response:
        problem = self.model_problem(body.get("modelUri"), "gpt")
        messages = body.get("messages")
        if problem is None and (not isinstance(messages, list) or not messages):
            problem = "messages must not be empty"
        if problem is not None:
            return self.error(400, problem)
        assert isinstance(messages, list)
        reply = self.decide(body, messages, schema=body.get("jsonSchema") or None)
        prompt_tokens = sum(p.word_count(str(m.get("text") or "")) for m in messages)
        texts = reply.cumulative(p.split_cumulative)
        options = body.get("completionOptions") or {}
        calls = reply.tool_calls
        if calls and not reply.text:
            texts = []
        if not options.get("stream"):
            self.generating()
            try:
                if reply.fault == "stall":
                    await asyncio.sleep(reply.stall)
            finally:
                self.generated(True)
            if calls:
                result = p.tool_call_result(calls, input_tokens=prompt_tokens,
                                            completion_tokens=5 * len(calls))
            else:
                result = p.completion_result(texts[-1], reply.status, input_tokens=prompt_tokens)
            p.add_reasoning(result, options)
            return json_response({"result": result}, headers={"x-request-id": "fake-sync"})
        return self.streamed(self._completion_lines(reply, texts, prompt_tokens, options),
                             "application/json", "fake-stream")

    async def _completion_lines(self, reply: Reply, texts: list[str], prompt_tokens: int,
                                options: dict[str, Any]) -> AsyncIterator[bytes]:
        calls = reply.tool_calls
        for index, text in enumerate(texts):
            if reply.fault is not None and index == reply.fault_after:
                async for part in _stream_fault(reply):
                    yield part
                return
            final = index == len(texts) - 1 and not calls
            status = reply.status if final else "ALTERNATIVE_STATUS_PARTIAL"
            result = p.completion_result(text, status, input_tokens=prompt_tokens)
            p.add_reasoning(result, options)
            yield p.ndjson_line({"result": result})
            self.stream_lines_written = index + 1
            if not final and reply.interval:
                await asyncio.sleep(reply.interval)
        if calls:
            done = p.word_count(texts[-1]) if texts else 0
            result = p.tool_call_result(calls, input_tokens=prompt_tokens,
                                        completion_tokens=done + 5 * len(calls))
            p.add_reasoning(result, options)
            yield p.ndjson_line({"result": result})

    def raw_reply(self, raw: RawReply) -> Response:
        async def parts() -> AsyncIterator[bytes]:
            for index, part in enumerate(raw.parts):
                if index and raw.interval:
                    await asyncio.sleep(raw.interval)
                yield part

        return Response(raw.status, {"Content-Type": raw.content_type, **raw.headers},
                        stream=Stream(parts()))

    async def openai_chat(self, body: dict[str, Any]) -> Response:
        model = body.get("model")
        sent = body.get("messages")
        if not isinstance(model, str) or not model:
            return self.error(400, "model is required")
        if not isinstance(sent, list) or not sent:
            return self.error(400, "messages must not be empty")
        flat = self.flatten_messages(sent)  # image parts decoded (media.py)
        if isinstance(flat, str):
            return self.error(400, flat)
        messages, image_count = flat
        fmt = body.get("response_format") or {}
        schema = (fmt.get("json_schema") or {}) if fmt.get("type") == "json_schema" else None
        reply = self.decide(body, messages, "content", schema=schema, sent=sent)
        texts = reply.cumulative(p.split_cumulative)
        calls = reply.tool_calls
        if calls and not reply.text:
            texts = []
        finish = {"ALTERNATIVE_STATUS_TRUNCATED_FINAL": "length",
                  "ALTERNATIVE_STATUS_CONTENT_FILTER": "content_filter"}.get(reply.status, "stop")
        if calls:
            finish = "tool_calls"
        prompt_tokens = sum(p.word_count(str(m.get("content") or "")) for m in messages)
        prompt_tokens += 256 * image_count  # Gemma 3: 256 tokens per image
        if not body.get("stream"):
            answer = p.openai_completion(model, texts[-1] if texts else "", finish,
                                         prompt_tokens)
            if calls:
                deltas = p.openai_tool_deltas(calls, "whole")
                answer["choices"][0]["message"]["tool_calls"] = deltas[0]["tool_calls"]
            return json_response(answer)
        reasoning = p.REASONING_TOKENS if body.get("reasoning_effort") else 0
        return self.streamed(
            _openai_events(model, reply, texts, finish, prompt_tokens, reasoning),
            "text/event-stream", "fake-openai")


async def _stream_fault(reply: Reply) -> AsyncIterator[bytes]:
    """A native stream's scripted fault, after which the body ends."""
    if reply.fault == "malformed":
        yield b'{"result": {"alternatives": [{"mess\n'
    elif reply.fault == "error_line":
        status = {8: 429, 13: 500, 14: 503, 3: 400}.get(reply.error_grpc, 500)
        yield p.ndjson_line(p.error_body(status, reply.error_message))
    elif reply.fault == "stall":
        await asyncio.sleep(reply.stall)
    elif reply.fault == "drop":
        raise Drop


async def _openai_events(model: str, reply: Reply, texts: list[str], finish: str,
                         prompt_tokens: int, reasoning: int) -> AsyncIterator[bytes]:
    calls = reply.tool_calls
    yield p.openai_chunk(model, {"role": "assistant"})
    if reasoning:  # gpt-oss streams its reasoning apart from the answer
        yield p.openai_chunk(model, {"reasoning_content": p.REASONING_TEXT})
    previous = ""
    for index, text in enumerate(texts):
        if reply.fault is not None and index == reply.fault_after:
            if reply.fault == "malformed":
                yield b"data: {not json\n\n"
            elif reply.fault == "stall":
                await asyncio.sleep(reply.stall)
            elif reply.fault == "drop":
                raise Drop
            return
        delta = text[len(previous):] if text.startswith(previous) else text
        previous = text
        yield p.openai_chunk(model, {"content": delta})
        if reply.interval:
            await asyncio.sleep(reply.interval)
    if calls and reply.tool_style == "whole":
        # YandexGPT: every call whole, in the chunk that finishes the answer.
        whole = p.openai_tool_deltas(calls, "whole")[0]
        yield p.openai_chunk(model, whole, finish=finish)
    else:
        for piece in p.openai_tool_deltas(calls, "fragments") if calls else []:
            yield p.openai_chunk(model, piece)
        yield p.openai_chunk(model, {}, finish=finish)
    usage = {"id": "chatcmpl-fake", "object": "chat.completion.chunk", "model": model,
             "choices": [], "usage": {
                 "prompt_tokens": prompt_tokens,
                 "completion_tokens": p.word_count(previous) + reasoning,
                 "total_tokens": prompt_tokens + p.word_count(previous) + reasoning,
                 "completion_tokens_details": {"reasoning_tokens": reasoning}}}
    yield b"data: " + json.dumps(usage).encode() + b"\n\n"
    yield b"data: [DONE]\n\n"


def _tool_results(message: dict[str, Any]) -> str | None:
    """The results a last message carries (native `toolResultList`, or an OpenAI `role: tool`
    message), joined; None for any other message."""
    if message.get("role") == "tool":
        return str(message.get("content") or "")
    results = (message.get("toolResultList") or {}).get("toolResults")
    if not results:
        return None
    return "; ".join(str((r.get("functionResult") or {}).get("content", "")) for r in results)
