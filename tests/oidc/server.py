"""The certified OpenID Provider (panva/oidc-provider, from npm) on 127.0.0.1, for the tests
that sign people in: `openid_provider()` installs it on first use (`npm ci` from this
folder's package.json and package-lock.json into this folder's node_modules, kept between
runs), starts `provider.mjs` on a free port and yields a handle that drives its own login
page with plain HTTP, as a browser would, and reaches its test controls (key rotation, a
tampered ID token). Without node and npm, or when the install fails, the test is skipped
with the reason. The install is setup, not a test: nothing else leaves 127.0.0.1.

One provider process serves the tests of a test process one after the other (a node start
costs about 0.7 CPU-seconds, 23 of them in the suite): each use resets it to what a new one
would be (the test's clients and users, a new signing key, its counts at 0, no tampering);
it is started again if it ended, and it ends with the test process."""

from __future__ import annotations

import asyncio
import atexit
import fcntl
import hashlib
import json
import os
import re
import shutil
import subprocess
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urljoin, urlsplit

import httpx
import pytest

from tests.ports import free_port

HERE = Path(__file__).parent
MODULES = HERE / "node_modules"
STAMP = MODULES / ".fmbot-lock-sha256"

#: The users the provider knows, by login: HR, engineering, and one in no group.
USERS: dict[str, dict[str, Any]] = {
    "hanna": {"name": "Hanna HR", "email": "Hanna@example.com", "email_verified": True,
              "groups": ["hr", "managers"]},
    "ed": {"name": "Ed Engineer", "email": "ed@example.com", "email_verified": True,
           "groups": ["engineering"]},
    "nora": {"name": "Nora Nobody", "email": "nora@example.com", "email_verified": True},
}


def _install() -> str | None:
    """Why the provider cannot run here, or None once it is installed."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        return "node and npm are not installed (the OpenID Provider is oidc-provider, npm)"
    wanted = hashlib.sha256((HERE / "package-lock.json").read_bytes()).hexdigest()
    with open(HERE / ".install.lock", "w") as lock:  # xdist workers install once
        fcntl.flock(lock, fcntl.LOCK_EX)
        if STAMP.exists() and STAMP.read_text() == wanted:
            return None
        done = subprocess.run([npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"],
                              cwd=HERE, capture_output=True, text=True, timeout=300,
                              check=False)
        if done.returncode != 0:
            return f"npm ci of the OpenID Provider failed: {done.stderr.strip()[-300:]}"
        STAMP.write_text(wanted)
    return None


@dataclass
class OpenIdProvider:
    issuer: str
    http: httpx.AsyncClient

    async def sign_in(self, authorization_url: str, login: str) -> str:
        """Follows the provider's pages as `login` and returns the URL it sends the browser
        back to (the callback, with the code and the state), without visiting it."""
        async with httpx.AsyncClient(timeout=30) as browser:
            url = authorization_url
            for _ in range(20):
                response = await browser.get(url)
                if response.is_redirect:
                    url = urljoin(url, response.headers["location"])
                    if not url.startswith(self.issuer):
                        return url
                    continue
                form = re.search(r'<form[^>]*action="([^"]+)"', response.text)
                assert form is not None, response.text[:500]
                fields = dict(re.findall(
                    r'<input type="hidden" name="([^"]+)" value="([^"]*)"', response.text))
                if 'name="login"' in response.text:
                    fields |= {"login": login, "password": "any"}
                response = await browser.post(urljoin(url, form.group(1)), data=fields)
                assert response.is_redirect, response.text[:500]
                url = urljoin(url, response.headers["location"])
                if not url.startswith(self.issuer):
                    return url
        raise AssertionError("the provider never sent the browser back")

    async def rotate(self) -> list[str]:
        """A new signing key, first; the old ones still published. The kids, newest first."""
        return list((await self._control("POST", "rotate")).get("kids", []))

    async def tamper(self, mode: str | None) -> None:
        """The next ID tokens re-signed: "foreign", "expired", "audience"; None stops it."""
        await self._control("POST", "tamper", {"mode": mode})

    async def counts(self) -> dict[str, Any]:
        return await self._control("GET", "counts")

    async def _control(self, method: str, name: str, body: object = None) -> dict[str, Any]:
        response = await self.http.request(method, f"{self.issuer}/__test/{name}",
                                           json=body)
        response.raise_for_status()
        found: dict[str, Any] = response.json()
        return found


def callback_query(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


@dataclass
class _Running:
    process: subprocess.Popen[bytes]
    issuer: str


_running: _Running | None = None


def _started() -> _Running:
    """This test process's provider, started on first use (or again if it ended)."""
    global _running
    if _running is not None and _running.process.poll() is None:
        return _running
    port = free_port()
    process = subprocess.Popen(
        ["node", str(HERE / "provider.mjs"), str(port)],
        # Its stdin is a pipe from this process: it exits when that closes, however this
        # process ends (an xdist worker may end without running atexit's handlers).
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        env={**os.environ, "NODE_ENV": "test"})
    assert process.stdout is not None
    said = b""
    while not said.startswith(b"listening"):  # warnings may come first
        said = process.stdout.readline()
        assert said, "the OpenID Provider stopped before it listened"
    # Its later output (server errors) is read and dropped, so that it never blocks.
    threading.Thread(target=process.stdout.read, daemon=True).start()
    atexit.register(_stop, process)
    _running = _Running(process, f"http://127.0.0.1:{port}")
    return _running


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        process.wait(10)


@asynccontextmanager
async def openid_provider(tmp_path: Path, clients: list[dict[str, Any]],
                          users: dict[str, dict[str, Any]] | None = None,
                          ) -> AsyncIterator[OpenIdProvider]:
    """The provider with these clients and users (default USERS), as a new one would be.
    `tmp_path`: where its configuration is kept, for reading after a failure."""
    why = await asyncio.to_thread(_install)
    if why is not None:
        pytest.skip(why)
    config = {"clients": clients, "users": users or USERS}
    (tmp_path / "openid-provider.json").write_text(json.dumps(config))
    running = await asyncio.wait_for(asyncio.to_thread(_started), 60)
    async with httpx.AsyncClient(timeout=30) as http:
        response = await http.post(f"{running.issuer}/__test/reset", json=config)
        response.raise_for_status()
        yield OpenIdProvider(running.issuer, http)
