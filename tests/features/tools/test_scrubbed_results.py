"""What an API answers is scrubbed of the tools file's secrets before it goes anywhere: an
error body that echoes the request's Authorization header and the URL's key (issue 45)."""

from __future__ import annotations

from bot.features.tools import Toolbox, ToolContext, ToolOutcome
from bot.features.tools.httpactions import HttpActionSource
from bot.features.tools.toolsfile import HttpAction
from tests.features.tools.apiserver import CompanyApi

CTX = ToolContext(user_id=4242, chat_id=-100777, language="en", idempotency_key="call-3-0")
TOKEN = "shop-token-5f1d9a"
KEY = "url-key-77c2e0"


async def test_an_echoed_authorization_header_never_reaches_the_model() -> None:
    async with CompanyApi() as api:
        source = HttpActionSource([
            HttpAction(name="echo", description="Echoes.", url=f"{api.url}/echo?key={KEY}",
                       headers={"Authorization": f"Bearer {TOKEN}"},
                       parameters={"type": "object", "properties": {"q": {"type": "string"}}}),
        ])
        box = Toolbox([source])
        try:
            result = await box.call("echo", {"q": "x"}, CTX)
        finally:
            await box.close()
        (seen,) = api.requests
    assert seen.headers["Authorization"] == f"Bearer {TOKEN}"  # the API did get it
    assert result.outcome is ToolOutcome.ERROR
    assert result.text.startswith("error: HTTP 403:")
    assert "[redacted]" in result.text
    assert TOKEN not in result.text
    assert KEY not in result.text
    assert '"authorization": "[redacted]"' in result.text
    assert '"error": "forbidden"' in result.text  # the rest of the body stays
