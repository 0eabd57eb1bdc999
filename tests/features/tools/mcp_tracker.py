"""A helpdesk tracker as an MCP server built with the official SDK, for tests and the e2e run.

    python tests/features/tools/mcp_tracker.py stdio
    python tests/features/tools/mcp_tracker.py http PORT [TOKEN]
    python -m tests.features.tools.mcp_tracker http PORT [TOKEN]   (from the repository root)

Tools: find_issue (read), create_issue (write; one issue per fmbot idempotency key),
delete_everything (never in the allow-list), broken (isError), whoami (echoes fmbot's `_meta`).
Over HTTP a TOKEN makes it require `Authorization: Api-Key TOKEN`.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

from mcp.server import MCPServer
from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ToolError

ISSUES = {"HELP-7": {"key": "HELP-7", "status": "in progress", "assignee": "Olga"}}
CREATED: dict[str, str] = {}


def build() -> MCPServer:
    server = MCPServer("tracker")

    # TRACKER_FIND_DESCRIPTION: what the server says find_issue does (a server that changes a
    # description after it was reviewed, or hides text in it).
    # TRACKER_FIND_TITLE: its title (offered as the description when there is none).
    @server.tool(description=os.environ.get("TRACKER_FIND_DESCRIPTION") or None,
                 title=os.environ.get("TRACKER_FIND_TITLE") or None)
    def find_issue(key: str) -> str:
        """Find a tracker issue by its key, e.g. HELP-7: its status and assignee."""
        issue = ISSUES.get(key)
        if issue is None:
            raise ToolError(f"no issue {key}")
        return json.dumps(issue)

    @server.tool()
    def create_issue(summary: str, ctx: Context) -> str:
        """Create a tracker issue."""
        meta: Any = ctx.request_context.meta or {}
        key = str(meta.get("fmbot/idempotency_key", ""))
        if key not in CREATED:
            CREATED[key] = f"HELP-{100 + len(CREATED)}"
            ISSUES[CREATED[key]] = {"key": CREATED[key], "status": "open", "summary": summary}
        return f"created {CREATED[key]} ({len(CREATED)} created so far)"

    @server.tool()
    def delete_everything() -> str:
        """Delete every issue."""
        ISSUES.clear()
        return "deleted"

    @server.tool()
    def broken() -> str:
        """Always fails."""
        raise ToolError("the tracker database is read-only")

    @server.tool()
    def whoami(ctx: Context) -> str:
        """Who fmbot says is asking."""
        meta: Any = ctx.request_context.meta or {}
        return json.dumps({k: v for k, v in dict(meta).items() if k.startswith("fmbot/")})

    return server


def http_app(token: str | None) -> Any:
    from starlette.responses import JSONResponse

    app = build().streamable_http_app(stateless_http=False)
    secret = os.environ.get("TRACKER_SIGNING_SECRET")
    if secret:
        app = signed_only(app, secret)
    if token is None:
        return app

    async def guarded(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            headers = dict(scope.get("headers") or [])
            if headers.get(b"authorization") != f"Api-Key {token}".encode():
                await JSONResponse({"error": "unauthorized"}, status_code=401)(
                    scope, receive, send)
                return
        await app(scope, receive, send)

    return guarded


def signed_only(app: Any, secret: str) -> Any:
    """Refuse (401) any request without a valid RFC 9421 signature from fmbot, as a tracker
    behind `sign = true` would; each verdict is appended to TRACKER_VERDICTS (a file)."""
    from starlette.responses import JSONResponse
    # Run as a module (python -m tests.features.tools.mcp_tracker), or as a script of this folder.
    try:
        from tests.features.tools.verifier import SignatureChecker
    except ImportError:
        from verifier import SignatureChecker

    checker = SignatureChecker(secret=secret)
    verdicts = os.environ.get("TRACKER_VERDICTS")

    async def guarded(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        chunks = []
        while True:
            message = await receive()
            chunks.append(message.get("body", b""))
            if not message.get("more_body"):
                break
        body = b"".join(chunks)
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        target = scope.get("raw_path", scope["path"].encode()).decode("latin-1")
        query = scope.get("query_string", b"").decode("latin-1")
        url = f"http://{headers.get('host', '')}{target}" + (f"?{query}" if query else "")
        ok = checker.check_mcp(scope["method"], url, headers, body)
        if verdicts:  # a test's record: a few small lines on local disk
            with Path(verdicts).open("a", encoding="utf-8") as out:  # noqa: ASYNC230
                out.write(json.dumps({"ok": ok, "method": scope["method"],
                                      "user": headers.get("x-fmbot-user-id"),
                                      "why": checker.reasons[-1] if not ok else ""}) + "\n")
        if not ok:
            await JSONResponse({"error": "bad signature"}, status_code=401)(scope, receive, send)
            return
        sent = False

        async def replay() -> Any:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await app(scope, replay, send)

    return guarded


def main() -> None:
    if sys.argv[1] == "stdio":
        build().run("stdio")
        return
    import uvicorn

    port = int(sys.argv[2])
    token = sys.argv[3] if len(sys.argv) > 3 else None
    uvicorn.run(http_app(token), host="127.0.0.1", port=port, log_level="warning",
                lifespan="on")


if __name__ == "__main__":
    main()
