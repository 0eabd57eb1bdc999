"""HTTP actions against a real API on loopback: URL filling, query or JSON body, the identity
headers from the ToolContext (not the model), the idempotency key on writes, the signature,
and errors as short lines for the model."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from bot.features.tools import ToolContext, ToolOutcome
from bot.features.tools.httpactions import HttpActionSource
from bot.features.tools.signing import RequestSigner
from bot.features.tools.toolsfile import HttpAction
from tests.features.tools.apiserver import CompanyApi
from tests.features.tools.cabundle import counting_ca_loads
from tests.ports import free_port

SECRET = "sign-me"
CTX = ToolContext(user_id=4242, chat_id=-100777, language="ru", idempotency_key="call-1-0")
ORDER_PARAMS = {
    "type": "object",
    "properties": {"order_id": {"type": "string"}, "fields": {"type": "array"},
                   "verbose": {"type": "boolean"}},
    "required": ["order_id"],
}
TICKET_PARAMS = {
    "type": "object",
    "properties": {"subject": {"type": "string"}, "priority": {"type": "integer"}},
    "required": ["subject"],
}


@pytest.fixture
async def api() -> AsyncIterator[CompanyApi]:
    async with CompanyApi(secret=SECRET) as server:
        yield server


def source_for(api_url: str, secret: str | None = SECRET, **overrides: object) -> HttpActionSource:
    actions = [
        HttpAction(name="order_status", description="Order status.",
                   url=api_url + "/api/orders/{order_id}", parameters=ORDER_PARAMS,
                   headers={"Authorization": "Bearer shop"}),
        HttpAction(name="open_ticket", description="Open a ticket.", method="POST",
                   url=api_url + "/tickets", parameters=TICKET_PARAMS, confirm=True),
        HttpAction(name="cancel_order", description="Cancel.", method="DELETE",
                   url=api_url + "/api/orders/{order_id}", parameters=ORDER_PARAMS),
        HttpAction(name="broken", description="Always fails.", url=api_url + "/broken"),
        HttpAction(name="slow", description="Hangs.", url=api_url + "/slow",
                   timeout_s=float(overrides.get("timeout_s", 0.5))),  # type: ignore[arg-type]
    ]
    signer = RequestSigner.with_secret(secret) if secret is not None else None
    return HttpActionSource(actions, signer=signer)


async def test_a_read_fills_the_url_puts_the_rest_in_the_query_and_says_who_asks(
    api: CompanyApi,
) -> None:
    source = source_for(api.url)
    try:
        result = await source.call(
            "order_status",
            # The model tries to pass someone else's id: it stays an ordinary argument.
            {"order_id": "A-1042/x y", "fields": ["status", "eta"], "verbose": True,
             "user_id": 1},
            CTX,
        )
    finally:
        await source.close()
    assert result.outcome is ToolOutcome.OK, result
    assert '"status":"shipped"' in result.text.replace(" ", "")
    (seen,) = api.requests
    assert seen.method == "GET"
    assert seen.path == "/api/orders/A-1042/x y"  # one encoded path segment, decoded by aiohttp
    assert seen.query == {"fields": ["status", "eta"], "verbose": ["true"], "user_id": ["1"]}
    assert seen.headers["X-Fmbot-User-Id"] == "4242"
    assert seen.headers["X-Fmbot-Chat-Id"] == "-100777"
    assert seen.headers["X-Fmbot-Language"] == "ru"
    assert seen.headers["Authorization"] == "Bearer shop"
    assert "Idempotency-Key" not in seen.headers  # a read
    assert seen.signed is True
    assert '"customer": "4242"' in result.text


async def test_a_query_in_the_files_url_is_kept(api: CompanyApi) -> None:
    source = HttpActionSource([HttpAction(
        name="search", description="d", url=api.url + "/api/orders/{order_id}?key=k1&v=2",
        parameters=ORDER_PARAMS)], signer=RequestSigner.with_secret(SECRET))
    try:
        await source.call("search", {"order_id": "7", "verbose": False}, CTX)
    finally:
        await source.close()
    (seen,) = api.requests
    assert seen.query == {"key": ["k1"], "v": ["2"], "verbose": ["false"]}


async def test_the_url_placeholder_is_url_encoded(api: CompanyApi) -> None:
    source = source_for(api.url)
    try:
        await source.call("order_status", {"order_id": "a/b?c=d#e"}, CTX)
    finally:
        await source.close()
    (seen,) = api.requests
    assert seen.path == "/api/orders/a/b?c=d#e"
    assert seen.raw_path == "/api/orders/a%2Fb%3Fc%3Dd%23e"
    assert seen.query == {}


async def test_a_write_sends_a_json_body_with_the_key_and_a_valid_signature(
    api: CompanyApi,
) -> None:
    source = source_for(api.url)
    try:
        # Native calls carry numbers as floats: an integer property gets 2, not 2.0.
        first = await source.call("open_ticket", {"subject": "Broken kettle", "priority": 2.0},
                                  CTX)
        again = await source.call("open_ticket", {"subject": "Broken kettle", "priority": 2.0},
                                  CTX)
        deleted = await source.call("cancel_order", {"order_id": "A-1", "reason": "late"}, CTX)
    finally:
        await source.close()
    assert first.outcome is ToolOutcome.OK
    assert again.text == first.text
    post = api.to("/tickets")[0]
    assert post.method == "POST"
    assert post.headers["Content-Type"] == "application/json"
    assert post.json == {"subject": "Broken kettle", "priority": 2}
    assert post.headers["Idempotency-Key"] == "call-1-0"
    assert post.signed is True  # RFC 9421, checked by the library's verifier
    assert post.headers["Signature-Input"].startswith(
        'fmbot=("@method" "@target-uri" "x-fmbot-user-id" "x-fmbot-chat-id" "x-fmbot-language" '
        '"idempotency-key" "content-digest");created=')
    assert post.headers["Content-Digest"].startswith("sha-256=:")
    assert len(api.tickets) == 1  # the same key: one ticket
    delete = api.to("/api/orders/A-1")[0]
    assert delete.method == "DELETE"
    assert delete.body == b""
    assert delete.query == {"reason": ["late"]}
    assert delete.headers["Idempotency-Key"] == "call-1-0"
    assert deleted.outcome is ToolOutcome.OK


async def test_without_a_secret_nothing_is_signed() -> None:
    async with CompanyApi() as api:
        source = source_for(api.url, secret=None)
        try:
            await source.call("order_status", {"order_id": "1"}, CTX)
        finally:
            await source.close()
    assert "Signature" not in api.requests[0].headers
    assert "Signature-Input" not in api.requests[0].headers


async def test_a_wrong_secret_is_refused_by_the_api(api: CompanyApi) -> None:
    source = source_for(api.url, secret="not-the-secret")
    try:
        result = await source.call("order_status", {"order_id": "1"}, CTX)
    finally:
        await source.close()
    assert api.requests[0].signed is False
    assert result.text == 'error: HTTP 401: {"error": "bad signature"}'


async def test_a_server_error_is_a_short_line_for_the_model(api: CompanyApi) -> None:
    source = source_for(api.url)
    try:
        result = await source.call("broken", {}, CTX)
    finally:
        await source.close()
    assert result.outcome is ToolOutcome.ERROR
    assert result.text == "error: HTTP 500: Internal Server Error: database is down"
    assert result.detail == "HTTP 500"


@pytest.mark.slow
async def test_a_hang_past_timeout_s_is_reported_as_timed_out(api: CompanyApi) -> None:
    source = source_for(api.url, timeout_s=0.3)
    try:
        result = await source.call("slow", {}, CTX)
    finally:
        await source.close()
    # The company API hangs 30 s and then answers: a timeout, not that answer, is the proof
    # that the 0.3 s bound cut it (no clock needed).
    assert api.hang_s > 10 * 0.3
    assert result.outcome is ToolOutcome.TIMEOUT
    assert result.text == "error: timed out after 0.3 s"


async def test_a_missing_url_argument_goes_back_to_the_model(api: CompanyApi) -> None:
    source = source_for(api.url)
    try:
        result = await source.call("order_status", {}, CTX)
    finally:
        await source.close()
    assert result.text == "error: invalid arguments: 'order_id' is a required property"
    assert api.requests == []


async def test_a_dropped_connection_is_retried_with_the_same_key(api: CompanyApi) -> None:
    api.drop_next = 1
    source = source_for(api.url)
    try:
        result = await source.call("open_ticket", {"subject": "x"}, CTX)
    finally:
        await source.close()
    assert result.outcome is ToolOutcome.OK, result
    keys = [r.headers["Idempotency-Key"] for r in api.to("/tickets")]
    assert keys == ["call-1-0", "call-1-0"]
    assert len(api.tickets) == 1


@pytest.mark.slow
async def test_a_refused_connection_is_a_short_line() -> None:
    port = free_port()  # nothing listens there
    source = source_for(f"http://127.0.0.1:{port}")
    try:
        result = await source.call("order_status", {"order_id": "1"}, CTX)
    finally:
        await source.close()
    assert result.outcome is ToolOutcome.ERROR
    assert result.text.startswith("error: cannot connect to 127.0.0.1: ")
    assert "Traceback" not in result.text


async def test_every_source_shares_the_process_tls_context(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A tools file's HTTP actions load no CA bundle of their own (20-50 ms of CPU each time):
    the process's one TLS context, as the Foundation Models client's pools use."""
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)
    first = source_for("https://api.example.test")  # the process's context exists now
    loads = counting_ca_loads(monkeypatch)
    more = [source_for("https://api.example.test") for _ in range(3)]
    own = httpx.AsyncClient()  # the count sees what it looks for: a client's own context
    try:
        assert len(loads) == 1
    finally:
        await own.aclose()
        for source in (first, *more):
            await source.close()
