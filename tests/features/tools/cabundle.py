"""The CA bundle loads of what a test runs next: a client that builds its own TLS context
loads one (20-50 ms of CPU), a client on the process's shared context none."""

from __future__ import annotations

import ssl
from typing import Any

import pytest


def counting_ca_loads(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """From now on (until the test ends), each CA bundle load is appended to the list."""
    loads: list[object] = []
    load = ssl.SSLContext.load_verify_locations

    def counted(self: ssl.SSLContext, *args: Any, **kwargs: Any) -> None:
        loads.append((args, kwargs))
        load(self, *args, **kwargs)

    monkeypatch.setattr(ssl.SSLContext, "load_verify_locations", counted)
    return loads
