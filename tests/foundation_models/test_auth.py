"""Credentials through real HTTP: headers, JWT exchange, refresh, metadata, secrecy."""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from pathlib import Path

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from bot.foundation_models import errors
from bot.foundation_models.auth import (
    ApiKeyAuth,
    IamTokenAuth,
    MetadataAuth,
    ServiceAccountKeyAuth,
    build_auth,
)
from bot.foundation_models.client import FoundationModelsClient
from bot.foundation_models.types import ChatMessage, Role
from tests.fakes.yandex.server import FakeFoundationModels
from tests.foundation_models.conftest import API_KEY, FOLDER, MakeClient

HELLO = [ChatMessage(Role.USER, "hello")]
COMPLETION = "/foundationModels/v1/completion"


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def make_key_file(tmp_path: Path, fm: FakeFoundationModels, *, register: bool = True) -> Path:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    public_pem = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()
    if register:
        fm.register_key("ajekeyid", "ajesaid", public_pem)
    path = tmp_path / "key.json"
    path.write_text(json.dumps({
        "id": "ajekeyid", "service_account_id": "ajesaid", "created_at": "2026-01-01T00:00:00Z",
        "key_algorithm": "RSA_2048", "public_key": public_pem,
        "private_key": "PLEASE DO NOT REMOVE THIS LINE! Yandex.Cloud SA Key ID <ajekeyid>\n"
        + private_pem,
    }))
    return path


async def test_api_key_headers(fm: FakeFoundationModels, client: FoundationModelsClient) -> None:
    await client.complete(HELLO, model="yandexgpt")
    headers = fm.requests[-1].headers
    assert headers["Authorization"] == f"Api-Key {API_KEY}"
    assert headers["x-data-logging-enabled"] == "false"
    assert "x-folder-id" not in headers
    uuid.UUID(headers["x-client-request-id"])


async def test_static_iam_token_sends_folder_and_logging_opt_in(
    fm: FakeFoundationModels, make_client: MakeClient
) -> None:
    token = fm.auth.issue(3600)
    client = make_client(IamTokenAuth(token), data_logging=True)
    await client.embed("hi")
    headers = fm.requests[-1].headers
    assert headers["Authorization"] == f"Bearer {token}"
    assert headers["x-folder-id"] == FOLDER
    assert headers["x-data-logging-enabled"] == "true"
    # operations need no folder header
    op = await client.completion_async(HELLO, model="yandexgpt")
    await client.get_operation(op.id)
    assert "x-folder-id" not in fm.requests[-1].headers


async def test_static_token_401_is_authentication_error(
    fm: FakeFoundationModels, make_client: MakeClient
) -> None:
    client = make_client(IamTokenAuth("t1.not-issued"))
    with pytest.raises(errors.AuthenticationError) as info:
        await client.complete(HELLO, model="yandexgpt")
    assert info.value.status_code == 401
    assert fm.paths().count(COMPLETION) == 1


async def test_service_account_key_exchange_single_flight(
    fm: FakeFoundationModels, make_client: MakeClient, tmp_path: Path
) -> None:
    fm.auth.iam_delay = 0.1
    auth = ServiceAccountKeyAuth.from_file(make_key_file(tmp_path, fm), iam_url=fm.url)
    client = make_client(auth)
    answers = await asyncio.gather(*(client.embed(f"t{i}") for i in range(20)))
    assert len(answers) == 20
    assert fm.auth.iam_exchanges == 1
    assert auth.fetch_count == 1
    assert fm.auth.jwt_errors == []
    bearer = fm.requests[-1].headers["Authorization"]
    assert bearer.startswith("Bearer t1.fake.")
    assert "x-folder-id" not in fm.requests[-1].headers


async def test_token_refreshed_well_before_expiry(
    fm: FakeFoundationModels, make_client: MakeClient, tmp_path: Path
) -> None:
    clock = Clock(1000.0)
    auth = ServiceAccountKeyAuth.from_file(make_key_file(tmp_path, fm), iam_url=fm.url,
                                           clock=clock)
    client = make_client(auth)
    await client.embed("a")
    clock.now += 3000  # 50 minutes: still the same token
    await client.embed("b")
    assert fm.auth.iam_exchanges == 1
    clock.now += 700  # past an hour: refreshed although valid for 12 h
    await client.embed("c")
    assert fm.auth.iam_exchanges == 2


async def test_expired_token_mid_run_recovers_once(
    fm: FakeFoundationModels, make_client: MakeClient, tmp_path: Path
) -> None:
    auth = ServiceAccountKeyAuth.from_file(make_key_file(tmp_path, fm), iam_url=fm.url)
    client = make_client(auth)
    await client.complete(HELLO, model="yandexgpt")
    fm.expire_tokens()
    snaps = [s async for s in client.stream(HELLO, model="yandexgpt")]
    assert snaps[-1].is_final
    assert fm.auth.iam_exchanges == 2
    assert fm.paths().count(COMPLETION) == 3  # ok, 401, ok


@pytest.mark.slow
async def test_bad_signature_is_rejected_by_iam(
    fm: FakeFoundationModels, make_client: MakeClient, tmp_path: Path
) -> None:
    path = make_key_file(tmp_path, fm, register=False)
    other = tmp_path / "other"
    other.mkdir()
    make_key_file(other, fm)  # registers another public key under the same id
    client = make_client(ServiceAccountKeyAuth.from_file(path, iam_url=fm.url))
    with pytest.raises(errors.AuthenticationError):
        await client.embed("x")
    assert fm.auth.jwt_errors
    assert "InvalidSignature" in fm.auth.jwt_errors[0]


async def test_metadata_service(fm: FakeFoundationModels, make_client: MakeClient) -> None:
    auth = MetadataAuth(fm.url)
    client = make_client(auth)
    await client.embed("a")
    await client.embed("b")
    assert fm.auth.metadata_requests == 1
    flavor = next(r for r in fm.requests if r.path.startswith("/computeMetadata"))
    assert flavor.headers["Metadata-Flavor"] == "Google"
    fm.expire_tokens()
    await client.embed("c")
    assert fm.auth.metadata_requests == 2


def test_build_auth_needs_exactly_one(tmp_path: Path) -> None:
    assert isinstance(build_auth(api_key="k"), ApiKeyAuth)
    assert isinstance(build_auth(iam_token="t1.x"), IamTokenAuth)
    assert isinstance(build_auth(use_metadata=True), MetadataAuth)
    with pytest.raises(errors.InvalidRequestError, match="api_key, iam_token"):
        build_auth(api_key="k", iam_token="t")
    with pytest.raises(errors.InvalidRequestError):
        build_auth()
    with pytest.raises(errors.InvalidRequestError, match="key file") as info:
        build_auth(sa_key_file=tmp_path / "missing.json")
    assert "Traceback" not in str(info.value)


async def test_secrets_never_in_reprs_logs_or_errors(
    fm: FakeFoundationModels, make_client: MakeClient, tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    key_path = make_key_file(tmp_path, fm)
    private_key = json.loads(key_path.read_text())["private_key"]
    sa_auth = ServiceAccountKeyAuth.from_file(key_path, iam_url=fm.url)
    api = make_client(ApiKeyAuth(API_KEY))
    sa = make_client(sa_auth)
    raised: list[BaseException] = []
    fm.fail_next(429, times=5, message="slow down")
    for call in (api.complete(HELLO, model="yandexgpt"), sa.complete(HELLO, model="yandexgpt")):
        try:
            await call
        except errors.FoundationModelsError as exc:
            raised.append(exc)
    fm.expire_tokens()
    await sa.embed("x")
    bad = make_client(ApiKeyAuth("AQVN-wrong-key-secret"))
    with pytest.raises(errors.AuthenticationError) as info:
        await bad.embed("x")
    raised.append(info.value)
    token = fm.requests[-2].headers["Authorization"].split()[1]
    texts = [caplog.text, *(repr(x) for x in (api, sa, sa_auth, bad)),
             *(str(e) for e in raised), *(repr(e) for e in raised)]
    for secret in (API_KEY, "AQVN-wrong-key-secret", token, private_key[200:260]):
        assert all(secret not in text for text in texts)
    assert "request_id" in caplog.text


async def test_refreshable_auth_retries_a_401_once_only(
    fm: FakeFoundationModels, make_client: MakeClient
) -> None:
    client = make_client(MetadataAuth(fm.url))
    fm.reject_next_auth(1)
    await client.embed("a")
    assert fm.auth.metadata_requests == 2
    fm.reject_next_auth(2)
    with pytest.raises(errors.AuthenticationError):
        await client.embed("b")
    api = make_client(ApiKeyAuth(API_KEY))
    fm.reject_next_auth(1)
    with pytest.raises(errors.AuthenticationError):
        await api.embed("c")


async def test_jwt_audience_is_the_public_endpoint_whatever_iam_url_is(
    fm: FakeFoundationModels, make_client: MakeClient, tmp_path: Path
) -> None:
    """A deployment reaching IAM through a proxy or a private endpoint: the token endpoint
    checks `aud` against its public name, not against the address it was reached at."""
    async with FakeFoundationModels(api_key=API_KEY, folder_id=FOLDER) as iam:
        iam.auth.tokens = fm.auth.tokens  # tokens IAM issues are good at the model API
        path = make_key_file(tmp_path, iam)
        auth = ServiceAccountKeyAuth.from_file(path, iam_url=iam.url + "/")
        client = make_client(auth)  # the model API is `fm`; IAM is the other server
        await client.embed("x")
        assert iam.auth.jwt_errors == []
        assert iam.auth.iam_exchanges == 1
        assert fm.auth.iam_exchanges == 0
        assert [r.path for r in iam.requests] == ["/iam/v1/tokens"]
        claims = jwt.decode(auth.make_jwt(), options={"verify_signature": False})
        assert claims["aud"] == "https://iam.api.cloud.yandex.net/iam/v1/tokens"
        assert not iam.url.startswith("https://iam.api.cloud.yandex.net")
