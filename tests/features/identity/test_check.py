"""`fmbot check` reaches the employee sign-in's provider (issue 81): its discovery document
and published keys, against the real provider on 127.0.0.1; a wrong issuer says what to do."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.features.identity.feature import FEATURE
from bot.features.settings import Settings
from bot.plugin.lifespan import declared
from bot.plugin.outcome import Outcome
from tests.oidc.server import openid_provider
from tests.ports import free_port

pytestmark = [pytest.mark.timeout(120)]


async def lines(issuer: str) -> list[Outcome]:
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None, OIDC_ISSUER=issuer, OIDC_CLIENT_ID="fmbot",
        PUBLIC_URL="https://helpdesk.example.com")
    [check] = declared([FEATURE], settings).checks
    return await check.run()


async def test_the_check_reads_the_discovery_document_and_the_keys(tmp_path: Path) -> None:
    async with openid_provider(tmp_path, [{"client_id": "fmbot", "redirect_uris": [
            "https://helpdesk.example.com/oidc/callback"],
            "token_endpoint_auth_method": "none"}]) as op:
        found = await lines(op.issuer)
        assert [o.line() for o in found if not o.ok] == []
        assert found[1].detail == "1 signing key(s) published"
        wrong = await lines(f"{op.issuer}/realms/missing")
    assert not wrong[0].ok
    assert "answered 404" in wrong[0].detail
    assert "check OIDC_ISSUER" in (wrong[0].fix or "")


async def test_a_provider_that_cannot_be_reached_is_one_line() -> None:
    [line] = await lines(f"http://127.0.0.1:{free_port()}")
    assert not line.ok
    assert "the provider cannot be reached (ConnectError)" in line.detail


def test_the_settings_name_what_the_sign_in_needs() -> None:
    from bot.plugin.config import ConfigError

    settings = Settings(_env_file=None, IDENTITY_REQUIRED="on")  # type: ignore[call-arg]
    [check] = declared([FEATURE], settings).settings_checks
    with pytest.raises(ConfigError, match="IDENTITY_REQUIRED=on needs OIDC_ISSUER"):
        check.check(settings)
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None, OIDC_ISSUER="https://sso.example.com/realms/company")
    with pytest.raises(ConfigError) as refused:
        check.check(settings)
    assert str(refused.value).splitlines() == [
        "OIDC_ISSUER needs OIDC_CLIENT_ID: the bot's client there",
        "OIDC_ISSUER needs PUBLIC_URL: the provider sends the browser back to "
        "PUBLIC_URL/oidc/callback",
        "OIDC_ISSUER in polling mode needs WEB_LISTEN, where the bot's web server listens "
        "for the provider's callback (127.0.0.1:8081)",
    ]
