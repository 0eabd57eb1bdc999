"""Error mapping (both body forms) and retries with backoff, through real HTTP."""

from __future__ import annotations

import json

import httpx
import pytest

from bot.foundation_models import errors
from bot.foundation_models.auth import ApiKeyAuth
from bot.foundation_models.client import FoundationModelsClient
from bot.foundation_models.error_mapping import retry_after_seconds, status_error
from bot.foundation_models.transport import NO_RETRY, RetryPolicy
from bot.foundation_models.types import ChatMessage, Role
from tests.fakes.yandex.server import FakeFoundationModels
from tests.foundation_models.conftest import API_KEY, FOLDER, MakeClient, SleepRecorder

HELLO = [ChatMessage(Role.USER, "hello")]
COMPLETION = "/foundationModels/v1/completion"


@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (400, errors.BadRequestError),
        (401, errors.AuthenticationError),
        (403, errors.PermissionDeniedError),
        (404, errors.NotFoundError),
        (429, errors.RateLimitError),
        (500, errors.InternalServerError),
        (502, errors.ServiceUnavailableError),
        (503, errors.ServiceUnavailableError),
        (504, errors.GatewayTimeoutError),
    ],
)
def test_status_maps_to_class(status: int, cls: type[errors.APIStatusError]) -> None:
    body = {"error": {"grpcCode": 8, "httpCode": status, "message": "quota limit exceed",
                      "httpStatus": "x", "details": []}}
    error = status_error(status, json.dumps(body).encode(), request_id="rid-1")
    assert type(error) is cls
    assert error.message == "quota limit exceed"
    assert error.grpc_code == 8
    assert "rid-1" in str(error)


def test_string_error_form_and_garbage() -> None:
    body = {"error": "it is not possible", "code": 3, "message": "it is not possible",
            "details": []}
    error = status_error(400, json.dumps(body).encode())
    assert error.message == "it is not possible"
    assert error.grpc_code == 3
    error = status_error(502, b"<html>bad gateway</html>", reason="Bad Gateway")
    assert error.message == "Bad Gateway"
    assert error.grpc_code is None


def test_retry_after_forms() -> None:
    assert retry_after_seconds("3") == 3.0
    assert retry_after_seconds("Wed, 21 Oct 2015 07:28:00 GMT", now=1445412470.0) == 10.0
    assert retry_after_seconds("soon") is None
    assert retry_after_seconds(None) is None


async def test_429_with_retry_after_is_honoured(
    fm: FakeFoundationModels, client: FoundationModelsClient, sleeps: SleepRecorder
) -> None:
    fm.fail_next(429, retry_after=2)
    answer = await client.complete(HELLO, model="yandexgpt")
    assert answer.text == "Echo: hello"
    assert sleeps.delays == [2.0]
    assert fm.paths().count(COMPLETION) == 2
    retried = [r for r in fm.requests if r.path == COMPLETION]
    assert retried[1].headers["x-retry-attempt"] == "1"
    assert retried[0].headers["x-client-request-id"] == retried[1].headers["x-client-request-id"]


async def test_backoff_grows_with_jitter_then_gives_up(
    fm: FakeFoundationModels, make_client: MakeClient, sleeps: SleepRecorder
) -> None:
    policy = RetryPolicy(max_attempts=4, initial_backoff=1.0, multiplier=2.0, max_backoff=3.0,
                         jitter=0.5)
    client = make_client(retry=policy)
    fm.fail_next(503, times=4, message="overloaded")
    with pytest.raises(errors.ServiceUnavailableError, match="overloaded"):
        await client.complete(HELLO, model="yandexgpt")
    assert len(sleeps.delays) == 3
    for delay, base in zip(sleeps.delays, [1.0, 2.0, 3.0], strict=True):
        assert base <= delay <= base * 1.5


async def test_429_without_retry_after_uses_backoff_and_final_error_carries_it(
    fm: FakeFoundationModels, client: FoundationModelsClient, sleeps: SleepRecorder
) -> None:
    fm.fail_next(429, times=3)
    with pytest.raises(errors.RateLimitError) as info:
        await client.complete(HELLO, model="yandexgpt")
    assert info.value.retry_after is None
    assert info.value.status_code == 429
    assert len(sleeps.delays) == 2
    fm.fail_next(429, retry_after=7, times=3)
    with pytest.raises(errors.RateLimitError) as info:
        await client.complete(HELLO, model="yandexgpt")
    assert info.value.retry_after == 7.0


async def test_500_then_success_and_400_not_retried(
    fm: FakeFoundationModels, client: FoundationModelsClient
) -> None:
    fm.fail_next(500)
    assert (await client.complete(HELLO, model="yandexgpt")).text == "Echo: hello"
    fm.fail_next(400, message="number of input tokens must be no more than 8192, got 28498")
    with pytest.raises(errors.BadRequestError, match="8192"):
        await client.complete(HELLO, model="yandexgpt")
    assert fm.paths().count(COMPLETION) == 3


async def test_stream_retried_before_it_starts_never_after(
    fm: FakeFoundationModels, client: FoundationModelsClient
) -> None:
    fm.fail_next(503)
    snaps = [s async for s in client.stream(HELLO, model="yandexgpt")]
    assert snaps[-1].text == "Echo: hello"
    assert fm.paths().count(COMPLETION) == 2
    fm.queue_reply("a b c", chunks=3, fault="error_line", fault_after=1, error_grpc=14)
    with pytest.raises(errors.ServiceUnavailableError):
        [s async for s in client.stream(HELLO, model="yandexgpt")]
    assert fm.paths().count(COMPLETION) == 3


async def test_stream_not_retried_when_told(
    fm: FakeFoundationModels, make_client: MakeClient
) -> None:
    client = make_client(stream_retry=NO_RETRY)
    fm.fail_next(429, retry_after=1)
    with pytest.raises(errors.RateLimitError):
        [s async for s in client.stream(HELLO, model="yandexgpt")]


async def test_connection_refused_is_retried_then_raised(sleeps: SleepRecorder) -> None:
    async with FakeFoundationModels(api_key=API_KEY, folder_id=FOLDER) as server:
        url = server.url
    client = FoundationModelsClient(folder_id=FOLDER, auth=ApiKeyAuth(API_KEY), llm_url=url,
                                    retry=RetryPolicy(initial_backoff=0.001), sleep=sleeps)
    async with client:
        with pytest.raises(errors.APIConnectionError):
            await client.complete(HELLO, model="yandexgpt")
    assert len(sleeps.delays) == 2


async def test_connect_timeout_phase(sleeps: SleepRecorder) -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectTimeout("timed out", request=request)

    http = httpx.AsyncClient(transport=httpx.MockTransport(refuse))
    client = FoundationModelsClient(folder_id=FOLDER, auth=ApiKeyAuth(API_KEY), http=http,
                                    retry=NO_RETRY, sleep=sleeps)
    with pytest.raises(errors.APITimeoutError) as info:
        await client.complete(HELLO, model="yandexgpt")
    assert info.value.phase == "connect"
    await http.aclose()


async def test_unknown_model_uri_rejected_locally(client: FoundationModelsClient) -> None:
    with pytest.raises(errors.InvalidRequestError):
        await client.complete(HELLO, model="http://evil/model")
    with pytest.raises(errors.InvalidRequestError):
        await client.complete([], model="yandexgpt")
