"""The model's arguments against a real API on loopback: the deployment's query in the URL is
sent as written and cannot be replaced, and arguments are checked against the tool's JSON
Schema before anything is sent (issue 45)."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

import pytest

from bot.features.tools import ToolContext, ToolOutcome
from bot.features.tools.httpactions import HttpActionSource
from bot.features.tools.toolsfile import HttpAction
from tests.features.tools.apiserver import CompanyApi

CTX = ToolContext(user_id=4242, chat_id=-100777, language="en", idempotency_key="call-9-0")
CLOSED_ORDER = {
    "type": "object",
    "properties": {"order_id": {"type": "string"}, "verbose": {"type": "boolean"}},
    "required": ["order_id"],
    "additionalProperties": False,
}
CLOSED_TICKET = {
    "type": "object",
    "properties": {"subject": {"type": "string"}, "priority": {"type": "integer"}},
    "required": ["subject"],
    "additionalProperties": False,
}


@pytest.fixture
async def api() -> AsyncIterator[CompanyApi]:
    async with CompanyApi() as server:
        yield server


@pytest.fixture
async def source(api: CompanyApi) -> AsyncIterator[HttpActionSource]:
    source = HttpActionSource([
        HttpAction(name="order_status", description="Order status.",
                   url=api.url + "/api/orders/{order_id}?tenant=acme&scope=read%2Fonly",
                   parameters={"type": "object",
                               "properties": {"order_id": {"type": "string"}},
                               "required": ["order_id"]}),
        HttpAction(name="strict_status", description="Order status.",
                   url=api.url + "/api/orders/{order_id}", parameters=CLOSED_ORDER),
        HttpAction(name="open_ticket", description="Open a ticket.", method="POST",
                   url=api.url + "/tickets?tenant=acme", parameters=CLOSED_TICKET),
    ])
    yield source
    await source.close()


async def test_the_urls_own_query_is_sent_as_written_and_cannot_be_replaced(
    api: CompanyApi, source: HttpActionSource
) -> None:
    ok = await source.call("order_status", {"order_id": "A-1", "user": "7"}, CTX)
    assert ok.outcome is ToolOutcome.OK, ok
    (seen,) = api.requests
    assert seen.query == {"tenant": ["acme"], "scope": ["read/only"], "user": ["7"]}
    assert seen.raw_query == "tenant=acme&scope=read%2Fonly&user=7"  # as written, then ours
    assert seen.headers  # the request reached the API with the deployment's query
    refused = await source.call("order_status", {"order_id": "A-1", "tenant": "globex"}, CTX)
    assert refused.outcome is ToolOutcome.ERROR
    assert "'tenant'" in refused.text
    assert "set by the deployment" in refused.text
    posted = await source.call("open_ticket", {"subject": "x", "tenant": "globex"}, CTX)
    assert posted.outcome is ToolOutcome.ERROR
    assert len(api.requests) == 1  # neither refused call was sent


async def test_a_fixed_query_name_cannot_be_given_in_another_case(
    api: CompanyApi, source: HttpActionSource
) -> None:
    # `?tenant=acme&Tenant=evil` reaches a server that reads names case-insensitively as the
    # model's tenant: the fixed name wins whatever its case (issue 61, item 8).
    for name in ("Tenant", "TENANT", "tEnAnT"):
        refused = await source.call("order_status", {"order_id": "A-1", name: "evil"}, CTX)
        assert refused.outcome is ToolOutcome.ERROR, (name, refused)
        assert "set by the deployment" in refused.text
        posted = await source.call("open_ticket", {"subject": "x", name: "evil"}, CTX)
        assert posted.outcome is ToolOutcome.ERROR, (name, posted)
    assert api.requests == []  # none of them was sent


async def test_arguments_the_schema_refuses_are_a_tool_error_and_nothing_is_sent(
    api: CompanyApi, source: HttpActionSource
) -> None:
    undeclared = await source.call("strict_status", {"order_id": "A-1", "user_id": 42}, CTX)
    assert undeclared.outcome is ToolOutcome.ERROR
    assert undeclared.text.startswith("error: invalid arguments:")
    assert "user_id" in undeclared.text
    wrong_type = await source.call("strict_status", {"order_id": "A-1", "verbose": "yes"}, CTX)
    assert "verbose" in wrong_type.text
    assert wrong_type.outcome is ToolOutcome.ERROR
    missing = await source.call("open_ticket", {"priority": 2}, CTX)
    assert "subject" in missing.text
    assert missing.outcome is ToolOutcome.ERROR
    extra_in_body = await source.call("open_ticket", {"subject": "x", "owner": "root"}, CTX)
    assert "owner" in extra_in_body.text
    assert extra_in_body.outcome is ToolOutcome.ERROR
    assert api.requests == []
    # What the schema allows still goes through, a whole float for an integer included.
    good = await source.call("open_ticket", {"subject": "x", "priority": 2.0}, CTX)
    assert good.outcome is ToolOutcome.OK, good
    (seen,) = api.requests
    assert seen.json == {"subject": "x", "priority": 2}
    assert seen.query == {"tenant": ["acme"]}


async def test_a_huge_argument_is_a_clean_tool_error(
    api: CompanyApi, source: HttpActionSource, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    for arguments in ({"order_id": "A-1", "note": "x" * 100_000}, {"order_id": "y" * 100_000}):
        result = await source.call("order_status", arguments, CTX)
        assert result.outcome is ToolOutcome.ERROR
        assert result.text.startswith("error: invalid arguments:"), result.text[:200]
        assert "shorter" in result.text
        assert len(result.text) < 500
    assert api.requests == []
    assert not [r for r in caplog.records if r.exc_info]
