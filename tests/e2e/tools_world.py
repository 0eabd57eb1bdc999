"""What the tools end-to-end test runs beside the bot: a company API on loopback that checks
fmbot's identity headers and signature, the MCP tracker built with the official SDK as its own
process, and the TOOLS_FILE that names them. Nothing here imports ``bot``."""

from __future__ import annotations

import asyncio
import json
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aiohttp import web

from tests.features.tools import tracker_process
from tests.ports import free_port

if TYPE_CHECKING:
    from tests.e2e.harness import E2E
from tests.features.tools.verifier import SignatureChecker

SECRET = "e2e-signing-secret"
SHOP_TOKEN = "e2e-shop-token"
MCP_KEY = "e2e-mcp-key"


@dataclass
class Seen:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes
    signed: bool


@dataclass
class CompanyApi:
    requests: list[Seen] = field(default_factory=list)
    tickets: dict[str, dict[str, Any]] = field(default_factory=dict)
    # /api/slow answers only after an hour: any answer the bot gives about it came from its
    # own timeout (timeout_s = 1), which no stopwatch in the test needs to measure.
    hang_s: float = 3600.0
    port: int = 0
    checker: SignatureChecker = field(default_factory=lambda: SignatureChecker(secret=SECRET))

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def __aenter__(self) -> CompanyApi:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, handle_signals=False, shutdown_timeout=0.2)
        await self._runner.setup()
        self.port = free_port()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._runner.cleanup()

    def to(self, path: str) -> list[Seen]:
        return [r for r in self.requests if r.path == path]

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        # RFC 9421, verified with the library as an API team would
        # (tests/features/tools/verifier.py).
        signed = self.checker.check(request.method, f"http://{request.host}{request.raw_path}",
                                    request.headers, body)
        self.requests.append(Seen(request.method, request.path, dict(request.query),
                                  dict(request.headers), body, signed))
        if not signed or request.headers.get("Authorization") != f"Bearer {SHOP_TOKEN}":
            return web.json_response({"error": "unauthorized"}, status=401)
        if request.path.startswith("/api/orders/"):
            return web.json_response({
                "order": request.path.rsplit("/", 1)[1], "status": "shipped",
                "delivery": "2026-11-27", "for_user": request.headers.get("X-Fmbot-User-Id"),
            })
        if request.path == "/api/tickets":
            key = request.headers.get("Idempotency-Key", "")
            if key not in self.tickets:
                self.tickets[key] = {"id": f"T-{len(self.tickets) + 1}",
                                     **json.loads(body or b"{}")}
            return web.json_response(self.tickets[key], status=201)
        if request.path == "/api/broken":
            return web.Response(status=500, text="Internal Server Error: the shop database "
                                "is down")
        if request.path == "/api/slow":
            await asyncio.sleep(self.hang_s)
            return web.json_response({"late": True})
        return web.json_response({"error": "no such route"}, status=404)


def start_tracker(port: int) -> subprocess.Popen[bytes]:
    """The MCP tracker over Streamable HTTP on 127.0.0.1:port (API key MCP_KEY)."""
    return tracker_process.start_tracker(port, MCP_KEY)


stop_tracker = tracker_process.stop_tracker


def tools_file(workdir: Path, api_url: str, mcp_port: int) -> Path:
    path = workdir / "tools.toml"
    path.write_text(f"""
[[http]]
name = "order_status"
description = "Look up the status and delivery date of a customer's order by its number."
url = "{api_url}/api/orders/{{order_id}}"
parameters = {{ type = "object", properties = {{ order_id = {{ type = "string" }} }}, \
required = ["order_id"] }}
headers = {{ Authorization = "Bearer ${{SHOP_TOKEN}}" }}

[[http]]
name = "open_ticket"
description = "Open a support ticket."
method = "POST"
url = "{api_url}/api/tickets"
parameters = {{ type = "object", properties = {{ subject = {{ type = "string" }} }}, \
required = ["subject"] }}
headers = {{ Authorization = "Bearer ${{SHOP_TOKEN}}" }}
confirm = true

[[http]]
name = "stock_report"
description = "The stock report (its server fails)."
url = "{api_url}/api/broken"
headers = {{ Authorization = "Bearer ${{SHOP_TOKEN}}" }}

[[http]]
name = "slow_report"
description = "A report that takes too long."
url = "{api_url}/api/slow"
headers = {{ Authorization = "Bearer ${{SHOP_TOKEN}}" }}
timeout_s = 1

[mcp.tracker]
url = "http://127.0.0.1:{mcp_port}/mcp"
headers = {{ Authorization = "Api-Key ${{MCP_KEY}}" }}
tools = ["find_issue", "create_issue"]
confirm = ["create_issue"]
""", encoding="utf-8")
    return path


def offered_tools(request_body: dict[str, Any]) -> list[str]:
    """The tool names a model request offered (native and OpenAI `tools[].function.name`,
    the Responses API's `tools[].name`)."""
    return [t["function"]["name"] if "function" in t else t["name"]
            for t in request_body.get("tools") or []]


def card_in(e2e: E2E, chat_id: int) -> tuple[int, list[str]] | None:
    """The newest confirmation card in a chat: (message id, its buttons' data)."""
    chat = e2e.tg.chats.get(chat_id)
    for message in reversed(chat.bot_messages if chat is not None else []):
        rows = (message.reply_markup or {}).get("inline_keyboard") or []
        data = [button.get("callback_data", "") for row in rows for button in row]
        if data and all(d.startswith("tool:") for d in data):
            return message.message_id, data
    return None
