"""Tool sources: what fmbot adds to a tool's own latency, per call, on loopback.

    .venv/bin/python bench/bench_tool_sources.py [--calls 500]

http: an HTTP action (`HttpActionSource.call`: URL filled, identity headers, signature, JSON
body, the answer read) against an aiohttp API on 127.0.0.1 that answers at once, next to a bare
`httpx` request to the same URL: the difference is fmbot's time per call. GET and POST.
mcp: an MCP call (`McpServerSource.call`, over Streamable HTTP through the official SDK) to a
tracker built with the SDK, running as its own process; and the time to connect and list.
python: a Python function tool (validation of the arguments, the call, the text).
import: what `import bot.features.tools` costs, and what the `mcp` SDK would add (loaded only with
[mcp.*] servers in TOOLS_FILE).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx
from aiohttp import web

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.extending.functions import FunctionTools  # noqa: E402
from bot.features.tools import ToolContext  # noqa: E402
from bot.features.tools.httpactions import HttpActionSource  # noqa: E402
from bot.features.tools.signing import RequestSigner  # noqa: E402
from bot.features.tools.toolsfile import HttpAction, McpServer  # noqa: E402
from tests.ports import free_port  # noqa: E402

CTX = ToolContext(user_id=1, chat_id=1, language="en", idempotency_key="bench-key")


def figures(name: str, samples: list[float]) -> str:
    ordered = sorted(samples)
    p50 = statistics.median(ordered) * 1000
    p95 = ordered[int(len(ordered) * 0.95) - 1] * 1000
    return f"{name:<34} p50 {p50:7.3f} ms   p95 {p95:7.3f} ms   (n={len(samples)})"


async def timed(calls: int, one: Callable[[], Awaitable[object]]) -> list[float]:
    for _ in range(20):  # warm up connections and caches
        await one()
    samples = []
    for _ in range(calls):
        started = time.perf_counter()
        await one()
        samples.append(time.perf_counter() - started)
    return samples


async def bench_http(calls: int) -> None:
    async def handle(request: web.Request) -> web.Response:
        await request.read()
        return web.json_response({"order": "A-1042", "status": "shipped"})

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handle)
    runner = web.AppRunner(app, handle_signals=False)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    url = f"http://127.0.0.1:{port}"
    params = {"type": "object", "properties": {"order_id": {"type": "string"}},
              "required": ["order_id"]}
    source = HttpActionSource([
        HttpAction(name="get", description="d", url=url + "/orders/{order_id}",
                   parameters=params),
        HttpAction(name="post", description="d", method="POST", url=url + "/tickets",
                   parameters=params),
    ], signer=RequestSigner.with_secret("bench-secret"))
    bare = httpx.AsyncClient()
    try:
        raw_get = await timed(calls, lambda: bare.get(url + "/orders/A-1042"))
        get = await timed(calls, lambda: source.call("get", {"order_id": "A-1042"}, CTX))
        raw_post = await timed(calls, lambda: bare.post(url + "/tickets",
                                                        json={"order_id": "A-1042"}))
        post = await timed(calls, lambda: source.call("post", {"order_id": "A-1042"}, CTX))
    finally:
        await bare.aclose()
        await source.close()
        await runner.cleanup()
    print(figures("http GET, bare httpx", raw_get))
    print(figures("http GET, HTTP action", get))
    print(figures("http POST, bare httpx", raw_post))
    print(figures("http POST, HTTP action (signed)", post))
    print(f"  fmbot's time per call (p50 difference): GET "
          f"{(statistics.median(get) - statistics.median(raw_get)) * 1000:.3f} ms, POST "
          f"{(statistics.median(post) - statistics.median(raw_post)) * 1000:.3f} ms")


def start_tracker(port: int) -> subprocess.Popen[bytes]:
    import socket

    tracker = ROOT / "tests" / "features" / "tools" / "mcp_tracker.py"
    process = subprocess.Popen([sys.executable, str(tracker), "http", str(port)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(300):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            time.sleep(0.1)
    return process


async def bench_mcp(calls: int) -> None:
    import mcp  # noqa: F401 - timed separately (bench_import)

    from bot.features.tools.mcpservers import McpServerSource

    port = free_port()
    process = await asyncio.to_thread(start_tracker, port)
    try:
        source = McpServerSource("tracker", McpServer(url=f"http://127.0.0.1:{port}/mcp"))
        started = time.perf_counter()
        await source.start()
        connect = time.perf_counter() - started
        try:
            samples = await timed(calls, lambda: source.call("find_issue", {"key": "HELP-7"},
                                                            CTX))
        finally:
            await source.close()
    finally:
        process.terminate()
        await asyncio.to_thread(process.wait)
    print(f"{'mcp connect and list tools':<34} {connect * 1000:7.1f} ms")
    print(figures("mcp call (Streamable HTTP)", samples))


async def bench_python(calls: int) -> None:
    tools = FunctionTools("bench")

    @tools.tool
    async def refund(ctx: ToolContext, order_id: str, amount: int) -> dict[str, object]:
        """Refund."""
        return {"order": order_id, "amount": amount}

    samples = await timed(calls, lambda: tools.call("refund", {"order_id": "A", "amount": 5.0},
                                                    CTX))
    print(figures("python function tool", samples))


def bench_import() -> None:
    code = "import time; t = time.perf_counter(); import {m}; print(time.perf_counter() - t)"
    for module in ("bot.features.tools", "mcp"):
        out = subprocess.run([sys.executable, "-c", code.format(m=module)], cwd=ROOT,
                             capture_output=True, text=True, check=True)
        print(f"{'import ' + module:<34} {float(out.stdout) * 1000:7.1f} ms")


def bench_signing(calls: int) -> None:
    """What signing adds to a call: RFC 9421 over one request, hmac-sha256 and ed25519."""
    import tempfile

    import httpx
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat

    with tempfile.TemporaryDirectory() as folder:
        pem = Path(folder) / "key.pem"
        pem.write_bytes(Ed25519PrivateKey.generate().private_bytes(
            Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()))
        signers = {"hmac-sha256": RequestSigner.with_secret("bench-secret"),
                   "ed25519": RequestSigner.with_key_file(pem)}
    headers = {"X-Fmbot-User-Id": "1", "X-Fmbot-Chat-Id": "1", "X-Fmbot-Language": "en",
               "Idempotency-Key": "bench-key"}
    BODY = b'{"subject":"Broken kettle"}'
    client = httpx.Client()
    for name, signer in signers.items():
        for writes in (False, True):
            request = client.build_request("POST" if writes else "GET",
                                           "https://shop.example/v1/orders/A-1042/status",
                                           headers=headers,
                                           content=BODY if writes else None)
            for _ in range(50):
                signer.sign(request, writes=writes)
            samples = []
            for _ in range(calls):
                started = time.perf_counter()
                signer.sign(request, writes=writes)
                samples.append(time.perf_counter() - started)
            print(figures(f"signing, {name}, {'write' if writes else 'read'}", samples))
    client.close()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=500)
    args = parser.parse_args()
    bench_signing(args.calls)
    await bench_http(args.calls)
    await bench_mcp(args.calls)
    await bench_python(args.calls)
    bench_import()


if __name__ == "__main__":
    asyncio.run(main())
