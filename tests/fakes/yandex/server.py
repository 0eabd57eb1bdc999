"""The fake Foundation Models service on loopback HTTP (aiohttp on 127.0.0.1), with its
``/_control`` test API: for tests that run fmbot as a process, and for manual runs. The
service itself, its state and wire, is the test kit's (bot/testing/yandex/service.py); this
is the HTTP side, kept out of the wheel.

```python
async with FakeFoundationModels(api_key="k", folder_id="f") as fm:
    fm.url  # "http://127.0.0.1:PORT"; every knob and record of FoundationModelsService
```

As a process, from the repository's root: ``python -m tests.fakes.yandex.server --port 0
--api-key K --folder F [--script F]`` prints ``LISTENING http://127.0.0.1:PORT`` and serves
until SIGTERM or SIGINT. The control API (JSON; neither authenticated nor faulted):

    POST /_control/script  a control action or a list of them (FoundationModelsService.apply:
                           reply, fail, set, register_key, expire_tokens, reject_auth, reset)
                           -> {"ok": true}, or 400 {"error": ...}
    GET /_control/requests -> [{"method", "path", "headers", "json", "peer", "at", "status"}, ...]
                           (the requests received, the control API's left out)

``--script FILE`` applies a JSON file of such actions at start.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import sys
from dataclasses import asdict
from pathlib import Path
from typing import Any

from aiohttp import web

from bot.testing.yandex.exchange import Drop, Headers, Request, Response, json_response
from bot.testing.yandex.service import FoundationModelsService


class FakeFoundationModels(FoundationModelsService):
    """The service served on `host`:`port` (0: any free port); `url` once started."""

    def __init__(self, *, api_key: str = "test-key", folder_id: str = "test-folder",
                 host: str = "127.0.0.1", port: int = 0) -> None:
        super().__init__(api_key=api_key, folder_id=folder_id)
        self.host, self.port = host, port
        self._runner: web.AppRunner | None = None

    async def start(self) -> FakeFoundationModels:
        app = web.Application(client_max_size=64 * 2**20)
        app.router.add_route("*", "/{tail:.*}", self._serve)
        self._runner = web.AppRunner(app, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        server = site._server
        assert server is not None
        assert getattr(server, "sockets", None)
        self.port = server.sockets[0].getsockname()[1]  # type: ignore[attr-defined]
        self.url = f"http://{self.host}:{self.port}"
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FakeFoundationModels:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def _dispatch(self, request: Request, body: Any) -> Response:
        """The control API (the module docstring), then the service's own paths."""
        if request.path == "/_control/script" and request.method == "POST":
            try:
                for action in body if isinstance(body, list) else [body]:
                    self.apply(action)
            except (ValueError, KeyError, TypeError) as exc:
                return json_response({"error": str(exc)}, status=400)
            return json_response({"ok": True})
        if request.path == "/_control/requests":
            return json_response([asdict(r) for r in self.requests
                                  if not r.path.startswith("/_control")])
        return await super()._dispatch(request, body)

    async def _serve(self, request: web.Request) -> web.StreamResponse:
        peer = request.transport.get_extra_info("peername") if request.transport else None
        answer = await self.handle(Request(
            request.method, request.path, dict(request.query), Headers(request.headers),
            await request.read(), f"{peer[0]}:{peer[1]}" if peer else "",
        ))
        if answer.stream is None:
            return web.Response(status=answer.status, headers=answer.headers, body=answer.body)
        response = web.StreamResponse(status=answer.status, headers=answer.headers)
        try:
            await response.prepare(request)
            async for part in answer.stream:
                await response.write(part)
            await response.write_eof()
        except Drop:  # the connection closes abruptly: an incomplete chunked body
            if request.transport is not None:
                request.transport.close()
        except ConnectionResetError:
            pass  # the client closed the stream early: the stream's close counts it
        finally:
            await answer.stream.aclose()
        return response


async def _serve(args: argparse.Namespace) -> None:
    fm = FakeFoundationModels(api_key=args.api_key, folder_id=args.folder, host=args.host,
                              port=args.port)
    if args.script:
        actions = json.loads(await asyncio.to_thread(Path(args.script).read_text, "utf-8"))
        for action in actions if isinstance(actions, list) else [actions]:
            fm.apply(action)
    await serve_until_signalled(fm)


async def serve_until_signalled(fm: FakeFoundationModels) -> None:
    """Process mode: start, announce the URL on stdout, serve until SIGTERM/SIGINT."""
    await fm.start()
    print(f"LISTENING {fm.url}", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    await fm.stop()


def main(argv: list[str] | None = None) -> None:
    """`python -m tests.fakes.yandex.server`: the fake service as a process."""
    parser = argparse.ArgumentParser(description="Fake Yandex Foundation Models server")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--api-key", default="test-key")
    parser.add_argument("--folder", default="test-folder")
    parser.add_argument("--script", default=None, help="JSON file of control actions")
    asyncio.run(_serve(parser.parse_args(argv)))


if __name__ == "__main__":
    main(sys.argv[1:])
