"""Request handlers of the fake Foundation Models server (text, streams, OpenAI-compatible).

Mixed into `FakeFoundationModels`; the state (queues, counters) lives there.
"""

from __future__ import annotations

import asyncio
import json
from collections import deque
from typing import Any

from aiohttp import web

from tests.fakes import fm_payloads as p
from tests.fakes.fm_scripts import Fault, RawReply, Reply
from tests.fakes.fm_structured import structured_answer


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

    quote_sources: bool

    def flatten_messages(
        self, messages: list[dict[str, Any]]
    ) -> tuple[list[dict[str, Any]], int] | str:
        raise NotImplementedError  # MediaHandlers'

    def reply_for(self, messages: list[dict[str, Any]], key: str = "text") -> Reply:
        if len(messages) == 1 and messages[0].get(key) == "ping":
            # fmbot's models check probes with one "ping": it never takes a scripted reply.
            return Reply("pong", chunks=1)
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
              headers: dict[str, str] | None = None) -> web.Response:
        return web.json_response(p.error_body(status, message, form=form), status=status,
                                 headers={"x-request-id": "fake-error", **(headers or {})})

    def model_problem(self, uri: Any, scheme: str) -> str | None:
        if not isinstance(uri, str) or not uri.startswith(f"{scheme}://"):
            return f"invalid model_uri: {uri!r}"
        folder = uri.split("://", 1)[1].split("/", 1)[0]
        if folder != self.folder_id:
            return f"Specified folder ID '{folder}' does not match with service account folder ID"
        return None

    async def completion(self, request: web.Request, body: dict[str, Any]) -> web.StreamResponse:
        self.active_generations += 1
        self.max_active_generations = max(self.max_active_generations, self.active_generations)
        response = web.StreamResponse(headers={"Content-Type": "application/json",
                                               "x-request-id": "fake-stream"})
        try:
            return await self._completion(request, body, response)
        except ConnectionResetError:
            # The client closed the stream early (aiohttp's ClientConnectionResetError).
            self.stream_disconnects += 1
            self.stream_closed.set()
            return response
        finally:
            self.active_generations -= 1

    async def _completion(self, request: web.Request, body: dict[str, Any],
                          response: web.StreamResponse) -> web.StreamResponse:
        problem = self.model_problem(body.get("modelUri"), "gpt")
        messages = body.get("messages")
        if problem is None and (not isinstance(messages, list) or not messages):
            problem = "messages must not be empty"
        if problem is not None:
            return self.error(400, problem)
        assert isinstance(messages, list)
        if body.get("jsonSchema") and not self.replies:
            reply = Reply(structured_answer(body["jsonSchema"], messages))
        else:
            reply = self.reply_for(messages)
        prompt_tokens = sum(p.word_count(str(m.get("text") or "")) for m in messages)
        texts = reply.cumulative(p.split_cumulative)
        options = body.get("completionOptions") or {}
        calls = reply.tool_calls
        if calls and not reply.text:
            texts = []
        if not options.get("stream"):
            if reply.fault == "stall":
                await asyncio.sleep(reply.stall)
            if calls:
                result = p.tool_call_result(calls, input_tokens=prompt_tokens,
                                            completion_tokens=5 * len(calls))
            else:
                result = p.completion_result(texts[-1], reply.status, input_tokens=prompt_tokens)
            p.add_reasoning(result, options)
            return web.json_response({"result": result}, headers={"x-request-id": "fake-sync"})
        await response.prepare(request)
        for index, text in enumerate(texts):
            if reply.fault is not None and index == reply.fault_after:
                return await self._stream_fault(request, response, reply)
            final = index == len(texts) - 1 and not calls
            status = reply.status if final else "ALTERNATIVE_STATUS_PARTIAL"
            result = p.completion_result(text, status, input_tokens=prompt_tokens)
            p.add_reasoning(result, options)
            await response.write(p.ndjson_line({"result": result}))
            self.stream_lines_written = index + 1
            if not final and reply.interval:
                await asyncio.sleep(reply.interval)
        if calls:
            done = p.word_count(texts[-1]) if texts else 0
            result = p.tool_call_result(calls, input_tokens=prompt_tokens,
                                        completion_tokens=done + 5 * len(calls))
            p.add_reasoning(result, options)
            await response.write(p.ndjson_line({"result": result}))
        await response.write_eof()
        return response

    async def _stream_fault(self, request: web.Request, response: web.StreamResponse,
                            reply: Reply) -> web.StreamResponse:
        if reply.fault == "malformed":
            await response.write(b'{"result": {"alternatives": [{"mess\n')
        elif reply.fault == "error_line":
            status = {8: 429, 13: 500, 14: 503, 3: 400}.get(reply.error_grpc, 500)
            body = p.error_body(status, reply.error_message)
            await response.write(p.ndjson_line(body))
        elif reply.fault == "stall":
            await asyncio.sleep(reply.stall)
        elif reply.fault == "drop":
            assert request.transport is not None
            request.transport.close()
            return response
        await response.write_eof()
        return response

    async def raw_reply(self, request: web.Request, raw: RawReply) -> web.StreamResponse:
        response = web.StreamResponse(
            status=raw.status, headers={"Content-Type": raw.content_type, **raw.headers}
        )
        await response.prepare(request)
        for index, part in enumerate(raw.parts):
            if index and raw.interval:
                await asyncio.sleep(raw.interval)
            await response.write(part)
        await response.write_eof()
        return response

    async def openai_chat(self, request: web.Request, body: dict[str, Any]) -> web.StreamResponse:
        model = body.get("model")
        messages = body.get("messages")
        if not isinstance(model, str) or not model:
            return self.error(400, "model is required")
        if not isinstance(messages, list) or not messages:
            return self.error(400, "messages must not be empty")
        flat = self.flatten_messages(messages)  # image parts decoded (fm_media.py)
        if isinstance(flat, str):
            return self.error(400, flat)
        messages, image_count = flat
        fmt = body.get("response_format") or {}
        if fmt.get("type") == "json_schema" and not self.replies:
            transcript = [{"role": m.get("role"), "text": m.get("content")} for m in messages]
            reply = Reply(structured_answer(fmt.get("json_schema") or {}, transcript))
        else:
            reply = self.reply_for(messages, key="content")
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
            return web.json_response(answer)
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)
        await response.write(p.openai_chunk(model, {"role": "assistant"}))
        reasoning = p.REASONING_TOKENS if body.get("reasoning_effort") else 0
        if reasoning:  # gpt-oss streams its reasoning apart from the answer
            await response.write(p.openai_chunk(model, {"reasoning_content": p.REASONING_TEXT}))
        previous = ""
        for index, text in enumerate(texts):
            if reply.fault is not None and index == reply.fault_after:
                if reply.fault == "malformed":
                    await response.write(b"data: {not json\n\n")
                elif reply.fault == "stall":
                    await asyncio.sleep(reply.stall)
                await response.write_eof()
                return response
            delta = text[len(previous):] if text.startswith(previous) else text
            previous = text
            await response.write(p.openai_chunk(model, {"content": delta}))
            if reply.interval:
                await asyncio.sleep(reply.interval)
        if calls and reply.tool_style == "whole":
            # YandexGPT: every call whole, in the chunk that finishes the answer.
            whole = p.openai_tool_deltas(calls, "whole")[0]
            await response.write(p.openai_chunk(model, whole, finish=finish))
        else:
            for piece in p.openai_tool_deltas(calls, "fragments") if calls else []:
                await response.write(p.openai_chunk(model, piece))
            await response.write(p.openai_chunk(model, {}, finish=finish))
        usage = {"id": "chatcmpl-fake", "object": "chat.completion.chunk", "model": model,
                 "choices": [], "usage": {
                     "prompt_tokens": prompt_tokens,
                     "completion_tokens": p.word_count(previous) + reasoning,
                     "total_tokens": prompt_tokens + p.word_count(previous) + reasoning,
                     "completion_tokens_details": {"reasoning_tokens": reasoning}}}
        await response.write(b"data: " + json.dumps(usage).encode() + b"\n\n")
        await response.write(b"data: [DONE]\n\n")
        await response.write_eof()
        return response


def _tool_results(message: dict[str, Any]) -> str | None:
    """The results a last message carries (native `toolResultList`, or an OpenAI `role: tool`
    message), joined; None for any other message."""
    if message.get("role") == "tool":
        return str(message.get("content") or "")
    results = (message.get("toolResultList") or {}).get("toolResults")
    if not results:
        return None
    return "; ".join(str((r.get("functionResult") or {}).get("content", "")) for r in results)
