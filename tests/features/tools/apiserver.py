"""A company API on loopback for HTTP actions: records each request, checks fmbot's identity
headers and signature, and answers as each route says (JSON, 500, a hang, a dropped
connection)."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from tests.features.tools.verifier import SignatureChecker
from tests.ports import free_port


@dataclass
class Seen:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes
    signed: bool | None  # None: no secret configured
    raw_path: str = ""  # the request-target's path as it came on the wire, not decoded
    raw_query: str = ""  # and its query, as it came

    @property
    def json(self) -> Any:
        return json.loads(self.body) if self.body else None


@dataclass
class CompanyApi:
    """Orders and tickets. `secret` (hmac-sha256) or `public_key` (ed25519, PEM): requests
    must carry a valid RFC 9421 signature (else 401), verified as an API team would."""

    secret: str | None = None
    public_key: bytes | None = None
    requests: list[Seen] = field(default_factory=list)
    # Idempotency-Key -> the ticket it created: a repeated write creates nothing new.
    tickets: dict[str, dict[str, Any]] = field(default_factory=dict)
    drop_next: int = 0  # close this many connections without answering
    hang_s: float = 30.0
    port: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def __aenter__(self) -> CompanyApi:
        self.checker = SignatureChecker(secret=self.secret, public_key=self.public_key)
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, handle_signals=False, shutdown_timeout=0.2)
        await self._runner.setup()
        self.port = free_port()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._runner.cleanup()

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        signed = None
        if self.secret is not None or self.public_key is not None:
            signed = self.checker.check(request.method, f"http://{request.host}{request.raw_path}",
                                        request.headers, body)
        seen = Seen(request.method, request.path,
                    {k: request.query.getall(k) for k in request.query},
                    dict(request.headers), body, signed, request.raw_path.split("?")[0],
                    request.raw_path.partition("?")[2])
        self.requests.append(seen)
        if self.drop_next > 0:
            self.drop_next -= 1
            assert request.transport is not None
            request.transport.close()
            return web.Response()
        if signed is False:
            return web.json_response({"error": "bad signature"}, status=401)
        path = request.path
        if path.startswith("/api/orders/"):
            if "X-Fmbot-User-Id" not in request.headers:
                return web.json_response({"error": "who is asking?"}, status=400)
            number = path.rsplit("/", 1)[1]
            return web.json_response({
                "order": number, "status": "shipped", "delivery": "2026-11-27",
                "customer": request.headers["X-Fmbot-User-Id"],
            })
        if path == "/tickets":
            key = request.headers.get("Idempotency-Key", "")
            ticket = self.tickets.get(key)
            if ticket is None:
                ticket = {"id": f"T-{len(self.tickets) + 1}", **json.loads(body or b"{}")}
                self.tickets[key] = ticket
            return web.json_response(ticket, status=201)
        if path == "/echo":  # an API that echoes the request in its error body
            return web.json_response({"error": "forbidden",
                                      "authorization": request.headers.get("Authorization"),
                                      "path": request.raw_path}, status=403)
        if path == "/broken":
            return web.Response(status=500, text="Internal Server Error: database is down\n")
        if path == "/slow":
            await asyncio.sleep(self.hang_s)
            return web.json_response({"late": True})
        return web.json_response({"path": path}, status=404)

    def to(self, path: str) -> list[Seen]:
        return [r for r in self.requests if r.path == path]
