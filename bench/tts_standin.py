"""A SpeechKit TTS v1 stand-in for bench_voice.py: answers `tts:synthesize` at once with a
prepared OggOpus file (real encoder output, about as long and as large as SpeechKit's answer for
the text), so what the benchmark measures is the bot's side, not synthesis.

    python -m bench.tts_standin  -> prints "LISTENING http://127.0.0.1:PORT"
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from urllib.parse import parse_qs

from aiohttp import web

from bot.features.voice.oggjoin import join

HELLO = (Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "speech" / "hello.ogg")
SECONDS_PER_CHAR = 0.07  # SpeechKit speaks about 14 characters a second


def main() -> None:
    clip = HELLO.read_bytes()
    handled: list[float] = []
    made: dict[int, bytes] = {}  # prepared once per length: the answer costs no encoding

    async def synthesize(request: web.Request) -> web.Response:
        started = time.perf_counter()
        form = parse_qs((await request.read()).decode())
        text = form.get("text", [""])[0]
        copies = max(1, round(len(text) * SECONDS_PER_CHAR / 2.23))  # the clip lasts 2.23 s
        audio = made.get(copies) or made.setdefault(copies, join([clip] * copies))
        handled.append(time.perf_counter() - started)
        return web.Response(body=audio, content_type="audio/ogg")

    async def stats(_request: web.Request) -> web.Response:
        return web.json_response({"handled": handled})

    async def serve() -> None:
        app = web.Application()
        app.router.add_post("/speech/v1/tts:synthesize", synthesize)
        app.router.add_get("/_stats", stats)
        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        print(f"LISTENING http://127.0.0.1:{port}", flush=True)
        await asyncio.Event().wait()

    asyncio.run(serve())


if __name__ == "__main__":
    main()
