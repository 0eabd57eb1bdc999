"""A free TCP port on 127.0.0.1 for a server a test starts later (often in another process).

Not `bind(("127.0.0.1", 0))`: that port comes from the kernel's ephemeral range (32768-60999
here, /proc/sys/net/ipv4/ip_local_port_range), the range every outgoing connection of every
test takes its local port from, so between the pick and the server's bind an aiohttp, Redis or
PostgreSQL client could take it ("address already in use", seen in CI). Ports below that range
are only ever taken by a bind, and each is checked free when picked.
"""

from __future__ import annotations

import random
import socket

LOW, HIGH = 20_000, 32_000  # below the ephemeral range


def free_port() -> int:
    for _ in range(200):
        port = random.randrange(LOW, HIGH)
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue  # taken: try another
        return port
    raise RuntimeError(f"no free port in {LOW}-{HIGH} on 127.0.0.1")
