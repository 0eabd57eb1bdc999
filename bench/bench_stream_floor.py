"""CPU per streamed answer in the load benchmark's regime, by HTTP stack: where the floor is.

    .venv/bin/python bench/bench_stream_floor.py [--streams 17] [--answers 2] [--rounds 3]

bench_load measures the whole bot; this isolates the model stream, the largest share of a
turn, and asks how much of its cost any code could save. The server is bench_load's own fake
(`python -m bench.load_fm`, a separate process, so none of its CPU lands here): answers of 300
tokens in 25 cumulative NDJSON chunks, the first after 300 ms, then 40 tokens/s. `--streams`
clients (default 17: bench_load's offered load, 0.85 of a 20-generation quota) start staggered
over one answer's duration and each reads `--answers` answers back to back, so the process
wakes for chunks that arrive about 18 ms apart, as the bot does under bench_load. CPU is
`time.process_time()` (user + system, all threads) over the phase, divided by the answers.

Each answer is read by one of these, to the end, and every line is parsed into a `Snapshot`
by the bot's own `quick_snapshot` (so JSON parsing costs the same in every row):

- `fmbot`: the bot's `FoundationModelsClient.stream()` (httpx, with the bot's asyncio network
  backend for httpcore, the watchdog, error mapping);
- `httpx`: a stock `httpx.AsyncClient().stream()` (httpcore on anyio) and `aiter_raw()`;
- `aiohttp`: an `aiohttp.ClientSession` (C parser) and `content.iter_any()`;
- `socket`: no HTTP library at all, an `asyncio.Protocol` that writes the request and splits
  whatever arrives into lines (chunk-size lines skipped; a new connection per answer). This
  is not a client anyone should ship; it is the floor: wake-ups, reads, line splitting, JSON.

Rounds interleave the stacks (fmbot, httpx, aiohttp, socket, then again) because this VM's
speed drifts between minutes more than some of the differences; the median of the rounds is
printed. Runs on uvloop, as the bot does.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import aiohttp
import httpx
import uvloop

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.foundation_models.auth import ApiKeyAuth  # noqa: E402
from bot.foundation_models.chunks import quick_snapshot  # noqa: E402
from bot.foundation_models.client import FoundationModelsClient  # noqa: E402
from bot.foundation_models.streaming import LineBuffer  # noqa: E402
from bot.foundation_models.types import ChatMessage, Role  # noqa: E402

FOLDER = "bench"
PATH = "/foundationModels/v1/completion"
HEADERS = {"Authorization": "Api-Key bench", "x-folder-id": FOLDER}
BODY = {
    "modelUri": f"gpt://{FOLDER}/yandexgpt/latest",
    "completionOptions": {"stream": True},
    "messages": [{"role": "user", "text": "platypus"}],
}
CHUNKS = 25  # 300 tokens in chunks of 12

Reader = Callable[[], Awaitable[int]]


def count_snapshots(buffer: LineBuffer, data: bytes) -> int:
    """Snapshots in `data` (HTTP chunk-size lines, which are not JSON, are skipped)."""
    found = 0
    for line in buffer.feed(data):
        if line.startswith(b"{"):
            snapshot = quick_snapshot(line)
            assert snapshot is not None, line[:80]
            found += 1
    return found


class _LineProtocol(asyncio.Protocol):
    def __init__(self) -> None:
        self.buffer = LineBuffer()
        self.snapshots = 0
        self.done: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def data_received(self, data: bytes) -> None:
        self.snapshots += count_snapshots(self.buffer, data)
        if self.snapshots == CHUNKS and not self.done.done():
            self.done.set_result(None)

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.done.done():
            self.done.set_exception(ConnectionError(f"closed after {self.snapshots} lines"))


def readers(
    url: str, fmbot: FoundationModelsClient, stock: httpx.AsyncClient,
    session: aiohttp.ClientSession,
) -> dict[str, Reader]:
    async def read_fmbot() -> int:
        found = 0
        async for _ in fmbot.stream([ChatMessage(Role.USER, "platypus")], model="yandexgpt"):
            found += 1
        return found

    async def read_httpx() -> int:
        buffer, found = LineBuffer(), 0
        async with stock.stream("POST", url + PATH, json=BODY, headers=HEADERS) as response:
            async for data in response.aiter_raw():
                found += count_snapshots(buffer, data)
        return found

    async def read_aiohttp() -> int:
        buffer, found = LineBuffer(), 0
        async with session.post(url + PATH, json=BODY, headers=HEADERS) as response:
            async for data in response.content.iter_any():
                found += count_snapshots(buffer, data)
        return found

    host, port = url.removeprefix("http://").split(":")
    body = json.dumps(BODY).encode()
    head = (
        f"POST {PATH} HTTP/1.1\r\nHost: {host}:{port}\r\n"
        + "".join(f"{name}: {value}\r\n" for name, value in HEADERS.items())
        + f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    ).encode()

    async def read_socket() -> int:
        loop = asyncio.get_running_loop()
        transport, protocol = await loop.create_connection(_LineProtocol, host, int(port))
        try:
            transport.write(head + body)
            await protocol.done
        finally:
            transport.close()
        return protocol.snapshots

    return {"fmbot": read_fmbot, "httpx": read_httpx, "aiohttp": read_aiohttp,
            "socket": read_socket}


async def phase(read: Reader, streams: int, answers: int, answer_time: float) -> float:
    """CPU seconds per answer over one phase of `streams` staggered clients."""

    async def client(index: int) -> None:
        await asyncio.sleep(index * answer_time / streams)
        for _ in range(answers):
            found = await read()
            assert found == CHUNKS, found

    started = time.process_time()
    await asyncio.gather(*(client(i) for i in range(streams)))
    return (time.process_time() - started) / (streams * answers)


async def main(args: argparse.Namespace) -> None:
    server = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bench.load_fm", "--port", "0", "--api-key", "bench",
        "--folder", FOLDER, "--quota", "0", cwd=ROOT, stdout=asyncio.subprocess.PIPE,
    )
    assert server.stdout is not None
    url = (await server.stdout.readline()).decode().split()[1].rstrip("/")
    answer_time = 0.3 + 300 / 40
    figures: dict[str, list[float]] = {}
    try:
        async with (
            FoundationModelsClient(
                folder_id=FOLDER, auth=ApiKeyAuth("bench"), llm_url=url, operation_url=url
            ) as fmbot,
            httpx.AsyncClient() as stock,
            aiohttp.ClientSession() as session,
        ):
            stacks = readers(url, fmbot, stock, session)
            for read in stacks.values():  # warm-up: imports, pools, lazy builds
                await phase(read, 2, 1, 1.0)
            for round_ in range(args.rounds):
                for name, read in stacks.items():
                    cpu = await phase(read, args.streams, args.answers, answer_time)
                    figures.setdefault(name, []).append(cpu)
                    print(f"round {round_ + 1}: {name:8} {cpu * 1000:6.2f} ms CPU/answer",
                          flush=True)
    finally:
        server.terminate()
        await server.wait()
    print(f"\n{args.streams} concurrent streams, {CHUNKS} chunks per answer "
          f"({args.answers} answers each per round), {args.rounds} rounds, uvloop")
    print(f"{'stack':8} | {'CPU ms/answer (median)':>22} | {'per chunk µs':>12} | rounds")
    for name, values in figures.items():
        median = statistics.median(values)
        rounds = " ".join(f"{v * 1000:.2f}" for v in values)
        print(f"{name:8} | {median * 1000:22.2f} | {median / CHUNKS * 1e6:12.0f} | {rounds}")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--streams", type=int, default=17)
    parser.add_argument("--answers", type=int, default=2, help="answers per stream per round")
    parser.add_argument("--rounds", type=int, default=3)
    return parser.parse_args()


if __name__ == "__main__":
    arguments = parse_args()
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        runner.run(main(arguments))
