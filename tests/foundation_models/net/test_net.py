"""httpx over the asyncio network backend, against a real aiohttp server on loopback, on
asyncio and on uvloop (conftest.py)."""

from __future__ import annotations

import asyncio
import datetime
import ipaddress
import ssl
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from aiohttp import web
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from bot.foundation_models.net import AsyncioStream, http_client

BIG = bytes(range(256)) * (3 * 4096)  # 3 MiB: more than the backend buffers before pausing
LIMITS = httpx.Limits(max_connections=10, max_keepalive_connections=5)


async def handle(request: web.Request) -> web.StreamResponse:
    if request.path == "/big":
        return web.Response(body=BIG)
    if request.path == "/stall":
        await asyncio.sleep(1.0)
        return web.Response(text="late")
    if request.path == "/echo-size":
        return web.Response(text=str(len(await request.read())))
    peer = request.transport.get_extra_info("peername") if request.transport else None
    return web.Response(text=f"{peer[1] if peer else 0}")


def self_signed(directory: Path) -> tuple[ssl.SSLContext, ssl.SSLContext]:
    """A server context for `localhost` and a client context that trusts only it."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=1))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName(
            [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
        ), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = directory / "cert.pem", directory / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ))
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server.load_cert_chain(cert_file, key_file)
    client = ssl.create_default_context(cafile=str(cert_file))
    return server, client


async def serve(
    ssl_context: ssl.SSLContext | None = None, keepalive: float = 75.0
) -> tuple[web.AppRunner, int]:
    app = web.Application(client_max_size=64 * 2**20)
    app.router.add_route("*", "/{tail:.*}", handle)
    runner = web.AppRunner(app, keepalive_timeout=keepalive)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=ssl_context)
    await site.start()
    port = runner.addresses[0][1]
    return runner, port


@pytest.fixture
async def plain() -> AsyncIterator[str]:
    runner, port = await serve()
    yield f"http://127.0.0.1:{port}"
    await runner.cleanup()


def client(**kwargs: object) -> httpx.AsyncClient:
    timeout = kwargs.pop("timeout", httpx.Timeout(5.0))
    assert isinstance(timeout, httpx.Timeout)
    return http_client(timeout=timeout, limits=LIMITS, **kwargs)  # type: ignore[arg-type]


async def test_tls_requests_share_one_connection(tmp_path: Path) -> None:
    server_context, client_context = self_signed(tmp_path)
    runner, port = await serve(server_context)
    try:
        async with client(verify=client_context) as http:
            first = await http.get(f"https://localhost:{port}/")
            second = await http.get(f"https://localhost:{port}/")
            big = await http.get(f"https://localhost:{port}/big")
        assert first.status_code == 200
        assert first.text == second.text  # the same client port: one connection
        assert big.content == BIG
        # a client that does not trust the certificate refuses it
        async with client() as http:
            with pytest.raises(httpx.ConnectError):
                await http.get(f"https://localhost:{port}/")
    finally:
        await runner.cleanup()


async def test_a_large_body_read_late_arrives_whole(plain: str) -> None:
    async with client() as http, http.stream("GET", f"{plain}/big") as response:
        await asyncio.sleep(0.2)  # the body piles up unread: reading pauses, then resumes
        stream = response.extensions["network_stream"]
        assert isinstance(stream, AsyncioStream)
        # bounded memory: what is buffered stays near the high-water mark, not the 3 MiB
        assert 0 < stream._protocol.size < 2 * 2**20
        parts = [part async for part in response.aiter_raw()]
    assert b"".join(parts) == BIG
    assert max(len(part) for part in parts) <= 64 * 1024  # httpcore's read size


async def test_a_large_request_body_is_sent_whole(plain: str) -> None:
    async with client() as http:
        response = await http.post(f"{plain}/echo-size", content=BIG * 4)
    assert response.text == str(len(BIG) * 4)


async def test_a_keep_alive_connection_the_server_closed_is_not_reused() -> None:
    runner, port = await serve(keepalive=0.1)
    try:
        async with client() as http:
            first = await http.get(f"http://127.0.0.1:{port}/")
            await asyncio.sleep(0.4)  # the server closes the idle connection meanwhile
            second = await http.get(f"http://127.0.0.1:{port}/")
        assert second.status_code == 200
        assert first.text != second.text  # a new connection (another client port)
    finally:
        await runner.cleanup()


@pytest.mark.slow
async def test_read_timeout_and_refused_connection(plain: str) -> None:
    async with client(timeout=httpx.Timeout(5.0, read=0.1)) as http:
        with pytest.raises(httpx.ReadTimeout):
            await http.get(f"{plain}/stall")
        # the client is still usable afterwards
        assert (await http.get(f"{plain}/")).status_code == 200
    async with client() as http:
        with pytest.raises(httpx.ConnectError):
            await http.get("http://127.0.0.1:1/")
