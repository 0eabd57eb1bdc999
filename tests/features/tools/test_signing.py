"""RFC 9421 signatures on tool requests, verified on a real loopback server with the library's
`HTTPMessageVerifier` as an API team would (verifier.py beside this file): hmac-sha256 and
ed25519 pass; changing the user id, the path, the query, the body or the Idempotency-Key fails; so
does a replay (the nonce seen) and a signature past `expires`."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.rsa import generate_private_key
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
)

from bot.config import ConfigError
from bot.features.settings import load_settings
from bot.features.tools import ToolContext, ToolOutcome
from bot.features.tools.httpactions import HttpActionSource
from bot.features.tools.signing import RequestSigner, SigningKeyError
from bot.features.tools.toolsfile import HttpAction
from tests.features.tools.apiserver import CompanyApi

SECRET = "sign-me"
CTX = ToolContext(user_id=4242, chat_id=4242, language="ru", idempotency_key="call-7-0")
ORDER = {"type": "object", "properties": {"order_id": {"type": "string"}},
         "required": ["order_id"]}
TICKET = {"type": "object", "properties": {"subject": {"type": "string"}},
          "required": ["subject"]}


def ed25519_pair(tmp_path: Path) -> tuple[Path, bytes]:
    key = Ed25519PrivateKey.generate()
    path = tmp_path / "fmbot-signing.pem"
    path.write_bytes(key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()))
    return path, key.public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)


def actions(url: str) -> list[HttpAction]:
    return [
        HttpAction(name="order_status", description="d", url=url + "/api/orders/{order_id}",
                   parameters=ORDER),
        HttpAction(name="open_ticket", description="d", method="POST", url=url + "/tickets",
                   parameters=TICKET, confirm=True),
    ]


@pytest.fixture(params=["hmac", "ed25519"])
async def world(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[tuple[CompanyApi, RequestSigner]]:
    if request.param == "hmac":
        api, signer = CompanyApi(secret=SECRET), RequestSigner.with_secret(SECRET)
    else:
        path, public = ed25519_pair(tmp_path)
        api, signer = CompanyApi(public_key=public), RequestSigner.with_key_file(path)
    async with api:
        yield api, signer


async def test_reads_and_writes_are_verified_by_the_library(
    world: tuple[CompanyApi, RequestSigner],
) -> None:
    api, signer = world
    source = HttpActionSource(actions(api.url), signer=signer)
    try:
        read = await source.call("order_status", {"order_id": "A-1"}, CTX)
        write = await source.call("open_ticket", {"subject": "Broken kettle"}, CTX)
    finally:
        await source.close()
    assert read.outcome is ToolOutcome.OK, (read, api.checker.reasons)
    assert write.outcome is ToolOutcome.OK, (write, api.checker.reasons)
    assert [seen.signed for seen in api.requests] == [True, True]
    assert "content-digest" not in api.requests[0].headers["Signature-Input"], "reads: no body"


def with_header(name: str, value: str) -> Callable[[httpx.Request], httpx.Request]:
    def change(request: httpx.Request) -> httpx.Request:
        request.headers[name] = value
        return request

    return change


def elsewhere(url: str) -> Callable[[httpx.Request], httpx.Request]:
    def change(request: httpx.Request) -> httpx.Request:
        return httpx.Request(request.method, url, headers=request.headers,
                             content=request.content)

    return change


@pytest.mark.parametrize(("what", "method", "path", "change"), [
    ("another user", "GET", "/api/orders/A-1", with_header("X-Fmbot-User-Id", "42")),
    ("another chat", "GET", "/api/orders/A-1", with_header("X-Fmbot-Chat-Id", "42")),
    ("another language", "GET", "/api/orders/A-1", with_header("X-Fmbot-Language", "en")),
    ("another path", "GET", "/api/orders/A-1", elsewhere("/api/orders/B-2")),
    ("another query", "GET", "/api/orders/A-1", elsewhere("/api/orders/A-1?all=true")),
    ("another body", "POST", "/tickets", None),
    ("another key", "POST", "/tickets", with_header("Idempotency-Key", "call-8-0")),
])
async def test_a_changed_request_fails_verification(
    world: tuple[CompanyApi, RequestSigner],
    what: str, method: str, path: str, change: Callable[[httpx.Request], httpx.Request] | None,
) -> None:
    api, signer = world
    body = b'{"subject":"Broken kettle"}' if method == "POST" else None
    headers = {"X-Fmbot-User-Id": "4242", "X-Fmbot-Chat-Id": "4242", "X-Fmbot-Language": "ru"}
    if method == "POST":
        headers |= {"Idempotency-Key": "call-7-0", "Content-Type": "application/json"}
    async with httpx.AsyncClient(base_url=api.url) as client:
        original = client.build_request(method, path, headers=headers, content=body)
        signer.sign(original, writes=method != "GET")
        if change is None:  # the body: same length, other words
            sent = client.build_request(method, path, headers=original.headers,
                                        content=b'{"subject":"Refund me 999"}')
        else:
            sent = change(original)
            if sent.url.is_relative_url:
                sent = client.build_request(method, str(sent.url), headers=sent.headers,
                                            content=sent.content)
        response = await client.send(sent)
    assert response.status_code == 401, what
    assert api.requests[-1].signed is False
    assert api.checker.reasons, what


async def test_a_replay_is_refused_and_so_is_a_signature_past_expires(
    world: tuple[CompanyApi, RequestSigner],
) -> None:
    api, signer = world
    headers = {"X-Fmbot-User-Id": "4242", "X-Fmbot-Chat-Id": "4242", "X-Fmbot-Language": "ru"}
    async with httpx.AsyncClient(base_url=api.url) as client:
        request = client.build_request("GET", "/api/orders/A-1", headers=headers)
        signer.sign(request, writes=False)
        assert (await client.send(request)).status_code == 200
        assert (await client.send(request)).status_code == 401  # the same nonce again
        assert "replay" in api.checker.reasons[-1]
        old = client.build_request("GET", "/api/orders/A-1", headers=headers)
        signer.sign(old, writes=False, now=time.time() - 120)  # expired a minute ago
        assert (await client.send(old)).status_code == 401
    assert "expire" in api.checker.reasons[-1].lower()


def test_a_signing_key_that_is_not_ed25519_is_one_line(tmp_path: Path) -> None:
    rsa = tmp_path / "rsa.pem"
    rsa.write_bytes(generate_private_key(65537, 2048).private_bytes(
        Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()))
    with pytest.raises(SigningKeyError, match="not an Ed25519 key; make one with: openssl"):
        RequestSigner.with_key_file(rsa)
    junk = tmp_path / "junk.pem"
    junk.write_text("not a key")
    with pytest.raises(SigningKeyError, match="is not an unencrypted PEM private key"):
        RequestSigner.with_key_file(junk)
    with pytest.raises(SigningKeyError, match="cannot read"):
        RequestSigner.with_key_file(tmp_path / "missing.pem")


def test_a_secret_and_a_key_together_are_one_start_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("TOOLS_SIGNING_SECRET", SECRET)
    monkeypatch.setenv("TOOLS_SIGNING_KEY", str(tmp_path / "key.pem"))
    with pytest.raises(ConfigError, match=r"^TOOLS_SIGNING_KEY: set together with "
                                          r"TOOLS_SIGNING_SECRET: keep one"):
        load_settings(None)


def _docs_block(after: str, language: str) -> str:
    text = (Path(__file__).parents[3] / "docs" / "tools.md").read_text(encoding="utf-8")
    start = text.index(f"```{language}\n", text.index(after)) + len(language) + 4
    return text[start:text.index("```", start)]


def docs_request() -> httpx.Request:
    """The request docs/tools.md writes out."""
    with httpx.Client() as client:
        return client.build_request(
            "POST", "https://desk.example/api/tickets", content=b'{"subject":"Broken kettle"}',
            headers={"X-Fmbot-User-Id": "4242", "X-Fmbot-Chat-Id": "4242",
                     "X-Fmbot-Language": "ru", "Idempotency-Key": "call-17-0"},
        )


def test_the_docs_verifier_accepts_fmbots_request_once_and_refuses_a_change() -> None:
    namespace: dict[str, object] = {}
    exec(_docs_block("### Verifying a request", "python"), namespace)
    verify = namespace["verify_fmbot"]
    assert callable(verify)
    request = docs_request()
    RequestSigner.with_secret("change-me").sign(request, writes=True)
    args = ("POST", str(request.url), request.headers)
    assert verify(*args, request.content, b"change-me")
    assert not verify(*args, request.content, b"change-me"), "a replay"
    RequestSigner.with_secret("change-me").sign(request, writes=True)
    assert not verify(*args, b'{"subject":"Refund me 999"}', b"change-me"), "another body"


def test_the_docs_signature_base_is_what_fmbot_signs() -> None:
    import datetime as dt

    from http_message_signatures import HTTPMessageSigner, MappingKeyResolver, algorithms

    from bot.features.tools.signing import COVERED, LABEL, LIFETIME_S

    request = docs_request()
    signer = HTTPMessageSigner(signature_algorithm=algorithms.HMAC_SHA256, key_resolver=(
        MappingKeyResolver(public_keys={}, private_keys={"fmbot": b"change-me"})))
    created = dt.datetime.fromtimestamp(1795600000, dt.UTC)
    prepared = signer.prepare(
        request, key_id="fmbot", created=created,
        expires=created + dt.timedelta(seconds=LIFETIME_S), nonce="q5m1xT0vYb6cPz2hJ8rW4g",
        label=LABEL, tag=LABEL, covered_component_ids=(*COVERED, "idempotency-key"),
        body=request.content,
    )
    base = prepared.signature_base
    assert (base.decode() if isinstance(base, bytes) else base) == _docs_block(
        "and its signature base", "text").rstrip("\n")
    headers = _docs_block("signed with `TOOLS_SIGNING_SECRET=change-me`", "text")
    assert f"Content-Digest: {request.headers['content-digest']}" in headers


@pytest.mark.slow
async def test_an_mcp_server_with_sign_true_gets_every_request_signed(tmp_path: Path) -> None:
    """The SDK tracker behind a verifier that refuses unsigned requests: with `sign = true`
    fmbot connects, lists and calls (a tools/call's identity headers are its `_meta`, signed
    with the body); without it the server refuses fmbot."""
    import json

    from bot.features.tools.mcpservers import McpServerSource, reason_of
    from bot.features.tools.toolsfile import McpServer
    from tests.features.tools.tracker_process import start_tracker, stop_tracker
    from tests.ports import free_port

    port, verdicts = free_port(), tmp_path / "verdicts.jsonl"
    process = start_tracker(port, None, env={
        "TRACKER_SIGNING_SECRET": SECRET, "TRACKER_VERDICTS": str(verdicts)})
    try:
        url = f"http://127.0.0.1:{port}/mcp"
        signed = McpServerSource("tracker", McpServer(url=url, tools=["whoami"], sign=True),
                                 signer=RequestSigner.with_secret(SECRET), connect_timeout=20)
        await signed.start()
        try:
            assert await signed.wait_connected(20)
            answer = await signed.call("whoami", {}, CTX)
        finally:
            await signed.close()
        assert answer.outcome is ToolOutcome.OK, answer
        assert '"fmbot/user_id": "4242"' in answer.text
        lines = [json.loads(line) for line in verdicts.read_text().splitlines()]
        assert lines
        assert all(line["ok"] for line in lines), lines
        assert "4242" in [line["user"] for line in lines]  # the call carried who asks, signed
        unsigned = McpServerSource("tracker", McpServer(url=url, tools=["whoami"]))
        with pytest.raises(Exception) as refused:  # noqa: PT011 - the SDK's transport error
            await unsigned.probe()
        assert reason_of(refused.value).startswith("MCPError")  # the SDK hides the 401
        refusal = json.loads(verdicts.read_text().splitlines()[-1])
        assert refusal["ok"] is False
        assert refusal["why"]
    finally:
        stop_tracker(process)


@pytest.mark.parametrize(("header", "value"), [
    ("X-Fmbot-User-Email", "mallory@example.com"),
    ("X-Fmbot-User-Groups", "hr,it-admins"),
])
async def test_the_employees_email_and_groups_are_signed(
    world: tuple[CompanyApi, RequestSigner], header: str, value: str,
) -> None:
    """Issue 81: a signed-in employee's e-mail and groups are covered by the signature, so an
    API may trust them as it trusts the user id."""
    api, signer = world
    headers = {"X-Fmbot-User-Id": "4242", "X-Fmbot-Chat-Id": "4242", "X-Fmbot-Language": "ru",
               "X-Fmbot-User-Email": "ed@example.com", "X-Fmbot-User-Groups": "engineering"}
    async with httpx.AsyncClient(base_url=api.url) as client:
        request = client.build_request("GET", "/api/orders/A-1", headers=headers)
        signer.sign(request, writes=False)
        assert header.lower() in request.headers["Signature-Input"]
        assert (await client.send(request)).status_code == 200
        changed = client.build_request("GET", "/api/orders/A-1", headers=headers)
        signer.sign(changed, writes=False)
        changed.headers[header] = value
        assert (await client.send(changed)).status_code == 401
