"""`RecordedModel`: a conversation recorded from the real Yandex API with `fmbot record`,
replayed offline, so a test can pin what the real model said.

Each request the bot makes is answered with the next recorded response to the same API path
(completions in the order they were recorded, embeddings in theirs, ...), byte for byte as
Yandex sent it: streamed lines, tool calls, usage. A path with nothing recorded is answered
as `TestModel` does (embeddings and the tokenizer synthesised); a completion beyond the
recording fails the turn with a message saying so, and `unused` tells what was not asked for.
"""

from __future__ import annotations

import json
from collections import deque
from pathlib import Path
from typing import Any

import httpx

from bot.recording import FORMAT
from bot.testing.wire import ModelAnswer, ModelRequest, TestModel


class RecordingFormatError(Exception):
    """The file is not a recording `fmbot record` wrote."""


class RecordedModel(TestModel):
    """Replays the recording at `path` (see the module docstring)."""

    def __init__(self, path: str | Path) -> None:
        super().__init__()
        self.path = Path(path)
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise RecordingFormatError(f"{self.path}: cannot read the recording: {exc}") from None
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise RecordingFormatError(f"{self.path}: not an fmbot recording (format {FORMAT})")
        self._queues: dict[str, deque[dict[str, Any]]] = {}
        for exchange in data.get("exchanges", []):
            self._queues.setdefault(str(exchange["path"]), deque()).append(exchange)

    @property
    def unused(self) -> dict[str, int]:
        """Recorded responses no request has asked for (yet), by API path."""
        return {path: len(queue) for path, queue in self._queues.items() if queue}

    def answer(self, request: ModelRequest) -> ModelAnswer:
        return ModelAnswer(request.question)  # only for paths the recording does not hold

    async def respond(self, request: httpx.Request) -> httpx.Response:
        queue = self._queues.get(request.url.path)
        if not queue:
            if request.url.path.endswith(("/completion", "/chat/completions", "/responses")):
                return httpx.Response(400, json={"error": {
                    "grpcCode": 3, "httpCode": 400, "httpStatus": "Bad Request",
                    "message": f"RecordedModel: {self.path.name} holds no more responses to "
                               f"{request.url.path}"}})
            return await super().respond(request)
        exchange = queue.popleft()
        body = json.loads(request.content or b"null")
        if isinstance(body, dict):
            self.requests.append(body)
        chunks = [str(chunk).encode() for chunk in exchange.get("chunks", [])]
        return httpx.Response(
            int(exchange.get("status", 200)),
            headers={"content-type": str(exchange.get("content_type") or "application/json")},
            stream=_Chunks(chunks),
        )


class _Chunks(httpx.AsyncByteStream):
    def __init__(self, chunks: list[bytes]) -> None:
        self.chunks = chunks

    async def __aiter__(self) -> Any:
        for chunk in self.chunks:
            yield chunk
