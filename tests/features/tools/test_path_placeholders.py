"""A model's argument fills exactly one path segment of an HTTP action's URL: with
`/v1/orders/{order_id}/status`, whatever the model passes (`..`, `a/b`, `x?y=1#z`, `%2e%2e`),
a real server on loopback sees `/v1/orders/<one segment>/status` or no request at all."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bot.features.tools import ToolContext, ToolOutcome, ToolRunResult
from bot.features.tools.httpactions import HttpActionSource
from bot.features.tools.toolsfile import HttpAction, ToolsFileError, read_tools_file
from tests.features.tools.apiserver import CompanyApi

CTX = ToolContext(user_id=4242, chat_id=4242, language="en", idempotency_key="k-1")
PARAMS = {"type": "object", "properties": {"order_id": {"type": "string"}},
          "required": ["order_id"]}


@pytest.fixture
async def api() -> AsyncIterator[CompanyApi]:
    async with CompanyApi() as server:
        yield server


async def order_status(api: CompanyApi, value: str) -> ToolRunResult:
    """One call of `GET /v1/orders/{order_id}/status` with the model's value."""
    source = HttpActionSource([HttpAction(
        name="order_status", description="Order status.",
        url=api.url + "/v1/orders/{order_id}/status", parameters=PARAMS,
    )])
    try:
        return await source.call("order_status", {"order_id": value}, CTX)
    finally:
        await source.close()


@pytest.mark.parametrize(("value", "segment"), [
    ("..", "%2E%2E"),
    (".", "%2E"),
    ("/".join(["..", "..", "x"]), "..%2F..%2Fx"),  # two levels up, then x
    ("a/b", "a%2Fb"),
    ("x?y=1#z", "x%3Fy%3D1%23z"),
    ("%2e%2e", "%252e%252e"),
    ("A-1042", "A-1042"),
    ("A.1042", "A.1042"),
    ("...", "..."),
])
async def test_a_value_fills_one_segment_and_never_moves_the_call(
    api: CompanyApi, value: str, segment: str
) -> None:
    result = await order_status(api, value)
    (seen,) = api.requests
    assert seen.raw_path == f"/v1/orders/{segment}/status"
    assert seen.query == {}, "a value never adds query parameters"
    assert result.outcome is ToolOutcome.ERROR  # the fake API has no such route: 404
    assert "HTTP 404" in result.text


@pytest.mark.parametrize(("value", "says"), [
    ("", "'order_id' is empty"),
    ("A-1\r\nX-Fmbot-User-Id: 42", "'order_id' has control or invisible characters"),
    ("A-1\u200b", "'order_id' has control or invisible characters"),
    ("A-1\x00", "'order_id' has control or invisible characters"),
])
async def test_an_empty_or_control_value_is_a_tool_error_never_a_request(
    api: CompanyApi, value: str, says: str
) -> None:
    result = await order_status(api, value)
    assert api.requests == []
    assert result.outcome is ToolOutcome.ERROR
    assert result.text.startswith(f"error: invalid arguments: {says}")


@pytest.mark.parametrize("url", [
    "https://{order_id}.shop.example/v1/status",
    "https://shop.example:{order_id}/v1",
    "https://shop.example/v1/orders?id={order_id}",
])
def test_a_placeholder_outside_the_path_is_refused_at_start(tmp_path: object, url: str) -> None:
    from pathlib import Path

    assert isinstance(tmp_path, Path)
    path = tmp_path / "tools.toml"
    path.write_text(
        f'[[http]]\nname = "order_status"\ndescription = "d"\nurl = "{url}"\n'
        'parameters = { type = "object", properties = { order_id = { type = "string" } }, '
        'required = ["order_id"] }\n', encoding="utf-8",
    )
    with pytest.raises(ToolsFileError, match="outside the path: placeholders fill path segments"):
        read_tools_file(path, environ={})
