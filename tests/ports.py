"""A free TCP port on 127.0.0.1 for a server a test starts later (often in another process).

Not `bind(("127.0.0.1", 0))`: that port comes from the kernel's ephemeral range (32768-60999
here, /proc/sys/net/ipv4/ip_local_port_range), the range every outgoing connection of every
test takes its local port from, so between the pick and the server's bind an aiohttp, Redis or
PostgreSQL client could take it ("address already in use", seen in CI). Ports below that range
are only ever taken by a bind, and each is checked free when picked; each xdist worker picks
from its own share of them, and a process never hands out the same port twice.
"""

from __future__ import annotations

import os
import random
import socket

LOW, HIGH = 20_000, 32_000  # below the ephemeral range

# Ports this process has handed out: a server may bind one seconds after the pick (a bot
# process starting), and until then the check below cannot see it taken.
_given: set[int] = set()


def _span() -> tuple[int, int]:
    """This xdist worker's share of the range, so two workers never pick the same port
    between one's pick and its server's bind (a webhook replica found its port taken beside
    a busy loop, 2026-11-27); the whole range outside xdist."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    count = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "0") or 0)
    if not (worker.startswith("gw") and worker[2:].isdigit() and count > 0):
        return LOW, HIGH
    size = (HIGH - LOW) // count
    index = int(worker[2:]) % count
    return LOW + index * size, LOW + (index + 1) * size


def free_port() -> int:
    low, high = _span()
    for _ in range(200):
        port = random.randrange(low, high)
        if port in _given:
            continue  # handed out already: its server may not have bound it yet
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue  # taken: try another
        _given.add(port)
        return port
    raise RuntimeError(f"no free port in {low}-{high} on 127.0.0.1")
