"""One HTTP exchange of the fake Foundation Models service, free of any HTTP library.

The service's handlers take a `Request` (method, path, query, headers, body) and give a
`Response` (status, headers, and a body: bytes, or a `Stream` of byte parts written one by one,
so that a streamed answer can pause, stall, break off or lose its connection). Two adapters
serve them: an httpx transport in process (transport.py) and aiohttp on
loopback (tests/fakes/yandex/server.py).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any


class Drop(Exception):
    """Raised by a stream for the connection to close abruptly (an incomplete body)."""


class Headers(Mapping[str, str]):
    """Request headers, looked up case-insensitively (as HTTP names them)."""

    def __init__(self, items: Mapping[str, str] | None = None) -> None:
        self._items = {k.lower(): (k, v) for k, v in (items or {}).items()}

    def __getitem__(self, name: str) -> str:
        return self._items[name.lower()][1]

    def __iter__(self) -> Iterator[str]:
        return (name for name, _ in self._items.values())

    def __len__(self) -> int:
        return len(self._items)


@dataclass
class Request:
    """An HTTP request as the handlers see it."""

    method: str
    path: str
    query: Mapping[str, str] = field(default_factory=dict)
    headers: Headers = field(default_factory=Headers)
    body: bytes = b""
    peer: str = ""  # the client's "host:port" (one value per TCP connection), "" in process

    def json(self) -> Any:
        """The body as JSON (None when empty or not JSON)."""
        try:
            return json.loads(self.body) if self.body else None
        except ValueError:
            return None


class Stream:
    """A response body written part by part; `on_close(completed)` is called once when the
    body ends or the client leaves (`completed` False: the client closed it early)."""

    def __init__(self, parts: AsyncIterator[bytes],
                 on_close: Callable[[bool], None] | None = None) -> None:
        self._parts = parts
        self._on_close = on_close
        self._completed = False
        self._closed = False

    async def __aiter__(self) -> AsyncIterator[bytes]:
        try:
            async for part in self._parts:
                yield part
        except Drop:
            self._completed = True  # the server's doing, not the client's
            raise
        self._completed = True

    async def aclose(self) -> None:
        """End the body (the adapters call it whatever happened)."""
        if self._closed:
            return
        self._closed = True
        close = getattr(self._parts, "aclose", None)
        if close is not None:
            await close()
        if self._on_close is not None:
            self._on_close(self._completed)


@dataclass
class Response:
    """An HTTP response: `body`, or `stream` when the body is written part by part."""

    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    stream: Stream | None = None


def json_response(data: Any, *, status: int = 200,
                  headers: Mapping[str, str] | None = None) -> Response:
    """A JSON answer (raw UTF-8 text, as the real service writes it)."""
    return Response(status, {"Content-Type": "application/json", **(headers or {})},
                    json.dumps(data, ensure_ascii=False).encode())


def text_response(text: str | bytes, content_type: str, *, status: int = 200) -> Response:
    """A body of another type (text or bytes)."""
    body = text.encode() if isinstance(text, str) else text
    return Response(status, {"Content-Type": content_type}, body)
