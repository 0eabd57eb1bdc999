"""What one event-loop wake-up costs on this machine: the floor under every per-event figure.

    .venv/bin/python bench/bench_wakeup.py [--reads 1000] [--gaps 10,1,0.1]

A writer process sends 2 KB (a streamed line's size) to this process over loopback TCP every
`gap` ms; this process reads it with uvloop's streams and does nothing else. CPU per read
(process CPU time; the kernel's share from getrusage) is what waking the loop costs, with no
work of ours in it.

On the VMs this project is measured on, a read that follows an idle gap costs several times
one that follows a busy moment (caches and the CPU itself go cold while the process sleeps),
so a bot turn pays this floor once per wake-up; bench_load.py prints the wake-ups per turn.
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import sys
import time

WRITER = """
import socket, sys, time
gap, count = float(sys.argv[1]) / 1000, int(sys.argv[2])
server = socket.create_server(("127.0.0.1", 0))
print(server.getsockname()[1], flush=True)
conn, _ = server.accept()
conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
payload = b"x" * 2048
for _ in range(count):
    conn.sendall(payload)
    time.sleep(gap)
conn.close()
"""


async def measure(gap_ms: float, reads: int) -> tuple[float, float, int]:
    """(CPU µs, of which kernel µs) per read after a warm-up tenth, and the reads counted."""
    writer = await asyncio.create_subprocess_exec(
        sys.executable, "-c", WRITER, str(gap_ms), str(reads), stdout=asyncio.subprocess.PIPE
    )
    assert writer.stdout is not None
    port = int(await writer.stdout.readline())
    reader, _ = await asyncio.open_connection("127.0.0.1", port)
    warmup = reads // 10
    count = 0
    cpu, kernel = time.process_time(), resource.getrusage(resource.RUSAGE_SELF).ru_stime
    while await reader.read(65536):
        count += 1
        if count == warmup:
            cpu = time.process_time()
            kernel = resource.getrusage(resource.RUSAGE_SELF).ru_stime
    cpu = time.process_time() - cpu
    kernel = resource.getrusage(resource.RUSAGE_SELF).ru_stime - kernel
    await writer.wait()
    measured = max(1, count - warmup)
    return cpu / measured * 1e6, kernel / measured * 1e6, measured


async def main_async(args: argparse.Namespace) -> None:
    print("gap ms | reads | CPU µs/read | of which kernel")
    for gap in (float(g) for g in args.gaps.split(",")):
        # at least ~2 s per gap, so the clock's resolution does not matter
        cpu, kernel, count = await measure(gap, max(args.reads, int(2000 / max(gap, 0.01))))
        print(f"{gap:6g} | {count:5d} | {cpu:11.0f} | {kernel:15.0f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reads", type=int, default=1000)
    parser.add_argument("--gaps", default="10,1,0.1", help="ms between writes, comma-separated")
    args = parser.parse_args()
    try:
        import uvloop
    except ImportError:  # pragma: no cover - Windows
        asyncio.run(main_async(args))
    else:
        uvloop.run(main_async(args))


if __name__ == "__main__":
    main()
