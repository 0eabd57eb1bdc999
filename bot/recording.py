"""`fmbot record`: the terminal chat against the real Yandex API, every model request and
response kept in a JSON file that `bot.testing.RecordedModel` replays offline.

The recording is taken below the model clients, as HTTP (`RecordingTransport`), so what is
replayed is exactly what Yandex sent: streamed answers line by line, tool calls, embeddings.
Credentials never reach the file (no header is recorded; the API key, IAM token and every
other secret of the configuration are replaced), the folder id becomes `test-folder` (the
tester's) and the chat's user id `1001` (the tester's first user).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from bot.foundation_models.base import client_over

FORMAT = "fmbot-recording/1"
FOLDER = "test-folder"
USER_ID = "1001"


@dataclass(slots=True)
class Scrubber:
    """Replaces secrets, the folder id and the user id in recorded text."""

    secrets: Sequence[str] = ()
    folder_id: str = ""
    user_id: int = 0
    replacements: list[tuple[str, str]] = field(default_factory=list)

    def __post_init__(self) -> None:
        pairs = [(s, "<secret>") for s in self.secrets if s]
        if self.folder_id:
            pairs.append((self.folder_id, FOLDER))
        if len(str(self.user_id)) >= 5:  # a short number would blank out ordinary ones
            pairs.append((str(self.user_id), USER_ID))
        # Longest first: a secret containing the folder id is replaced whole.
        self.replacements = sorted(pairs, key=lambda pair: -len(pair[0]))

    def text(self, value: str) -> str:
        for old, new in self.replacements:
            value = value.replace(old, new)
        return value

    def json(self, value: Any) -> Any:
        """A JSON value with its strings scrubbed."""
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, dict):
            return {k: self.json(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.json(v) for v in value]
        return value


@dataclass(slots=True)
class Exchange:
    """One recorded request and its response."""

    method: str
    path: str
    request: Any
    status: int = 0
    content_type: str = ""
    chunks: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {"method": self.method, "path": self.path, "request": self.request,
                "status": self.status, "content_type": self.content_type,
                "chunks": self.chunks}


class RecordingTransport(httpx.AsyncBaseTransport):
    """Passes requests to `inner` and records each exchange (scrubbed) in `exchanges`."""

    def __init__(self, inner: httpx.AsyncBaseTransport, scrubber: Scrubber) -> None:
        self.inner = inner
        self.scrubber = scrubber
        self.exchanges: list[Exchange] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        body = await request.aread()
        try:
            sent: Any = json.loads(body) if body else None
        except ValueError:
            sent = {"bytes": len(body)}  # audio for speech recognition: only its size
        exchange = Exchange(request.method, request.url.path, self.scrubber.json(sent))
        self.exchanges.append(exchange)
        response = await self.inner.handle_async_request(request)
        exchange.status = response.status_code
        exchange.content_type = response.headers.get("content-type", "")
        return httpx.Response(
            response.status_code, headers=response.headers,
            stream=_Recorded(response, exchange, self.scrubber), extensions=response.extensions,
        )

    async def aclose(self) -> None:
        await self.inner.aclose()

    def save(self, path: Path) -> int:
        """Write the recording; how many exchanges it holds."""
        data = {"format": FORMAT, "exchanges": [e.as_json() for e in self.exchanges]}
        path.write_text(json.dumps(data, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
        return len(self.exchanges)


class _Recorded(httpx.AsyncByteStream):
    """The response's body as it arrives, each chunk recorded (scrubbed) on the way."""

    def __init__(self, response: httpx.Response, exchange: Exchange, scrubber: Scrubber) -> None:
        self.response = response
        self.exchange = exchange
        self.scrubber = scrubber

    async def __aiter__(self) -> AsyncIterator[bytes]:
        pending = b""
        async for chunk in self.response.aiter_raw():
            pending += chunk
            *lines, pending = pending.split(b"\n")
            for line in lines:
                self._keep(line + b"\n")
            yield chunk
        if pending:
            self._keep(pending)

    def _keep(self, line: bytes) -> None:
        text = line.decode("utf-8", "replace")
        stripped = text.strip()
        if stripped.startswith("{"):
            try:
                text = json.dumps(self.scrubber.json(json.loads(stripped)),
                                  ensure_ascii=False) + ("\n" if text.endswith("\n") else "")
            except ValueError:
                text = self.scrubber.text(text)
        else:
            text = self.scrubber.text(text)
        self.exchange.chunks.append(text)

    async def aclose(self) -> None:
        await self.response.aclose()


def recording_client(scrubber: Scrubber) -> tuple[httpx.AsyncClient, RecordingTransport]:
    """An HTTP client for the model clients that records through `RecordingTransport`."""
    transport = RecordingTransport(httpx.AsyncHTTPTransport(retries=0), scrubber)
    return client_over(transport), transport
