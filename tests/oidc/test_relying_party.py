"""fmbot's one OpenID Connect relying party (bot.plugin.oidc) against the certified
oidc-provider on 127.0.0.1: a confidential and a public (PKCE-only) client sign in; a wrong
state, a replayed code, a token signed by a key the provider does not publish, an expired
token and one for another audience are each refused with a line saying which; a rotated key
is followed by fetching the JWKS again, once."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from bot.plugin.oidc import Flow, OidcError, RelyingParty
from tests.oidc.server import OpenIdProvider, callback_query, openid_provider

pytestmark = [pytest.mark.timeout(120)]

CALLBACK = "http://127.0.0.1:9/oidc/callback"  # never visited: the test reads the redirect
CLIENTS = [
    {"client_id": "fmbot", "client_secret": "s3cret", "redirect_uris": [CALLBACK],
     "token_endpoint_auth_method": "client_secret_post"},
    {"client_id": "fmbot-public", "redirect_uris": [CALLBACK],
     "token_endpoint_auth_method": "none"},
]


@asynccontextmanager
async def provider_and_party(tmp_path: Path, client_id: str = "fmbot", secret: str = "s3cret",
                             ) -> AsyncIterator[tuple[OpenIdProvider, RelyingParty]]:
    async with openid_provider(tmp_path, CLIENTS) as op:
        yield op, RelyingParty(op.issuer, client_id, secret, CALLBACK,
                               scopes="openid profile email groups")


async def code_for(op: OpenIdProvider, party: RelyingParty, login: str,
                   ) -> tuple[Flow, dict[str, str]]:
    flow = Flow.new()
    back = await op.sign_in(await party.authorization_url(flow), login)
    assert back.startswith(CALLBACK), back
    return flow, callback_query(back)


async def test_an_employee_signs_in_with_groups(tmp_path: Path) -> None:
    async with provider_and_party(tmp_path) as (op, party):
        flow, query = await code_for(op, party, "hanna")
        assert query["state"] == flow.state
        who = await party.finish(flow, query["state"], query["code"])
    assert (who.subject, who.name, who.email) == ("hanna", "Hanna HR", "hanna@example.com")
    assert who.groups == ("hr", "managers")
    assert who.email_verified


async def test_a_public_client_signs_in_with_pkce_alone(tmp_path: Path) -> None:
    async with provider_and_party(tmp_path, "fmbot-public", "") as (op, party):
        flow, query = await code_for(op, party, "nora")
        who = await party.finish(flow, query["state"], query["code"])
    assert (who.subject, who.groups) == ("nora", ())


async def test_a_wrong_state_and_a_replayed_code_are_refused(tmp_path: Path) -> None:
    async with provider_and_party(tmp_path) as (op, party):
        flow, query = await code_for(op, party, "ed")
        with pytest.raises(OidcError, match="state does not match"):
            await party.finish(flow, "someone-elses", query["code"])
        await party.finish(flow, query["state"], query["code"])
        with pytest.raises(OidcError, match=r"answered 400 \(invalid_grant\)"):
            await party.finish(flow, query["state"], query["code"])


async def test_a_rotated_key_is_fetched_once_and_a_foreign_one_refused(tmp_path: Path) -> None:
    async with provider_and_party(tmp_path) as (op, party):
        flow, query = await code_for(op, party, "ed")
        await party.finish(flow, query["state"], query["code"])
        assert (await op.counts())["jwks"] == 1
        await op.rotate()
        flow, query = await code_for(op, party, "ed")
        assert (await party.finish(flow, query["state"], query["code"])).subject == "ed"
        assert (await op.counts())["jwks"] == 2  # the new kid: the keys fetched again, once
        flow, query = await code_for(op, party, "ed")
        await party.finish(flow, query["state"], query["code"])
        assert (await op.counts())["jwks"] == 2  # known now
        await op.tamper("foreign")
        flow, query = await code_for(op, party, "ed")
        with pytest.raises(OidcError, match="a key the provider does not publish"):
            await party.finish(flow, query["state"], query["code"])
        assert (await op.counts())["jwks"] == 3  # one more fetch, not more


@pytest.mark.parametrize(("mode", "said"), [
    ("expired", "the ID token has expired"),
    ("audience", r"issued for another client \(audience\)"),
])
async def test_an_expired_token_and_another_audience_are_refused(
        tmp_path: Path, mode: str, said: str) -> None:
    async with provider_and_party(tmp_path) as (op, party):
        await op.tamper(mode)
        flow, query = await code_for(op, party, "hanna")
        with pytest.raises(OidcError, match=said):
            await party.finish(flow, query["state"], query["code"])


async def test_a_nonce_of_another_sign_in_is_refused(tmp_path: Path) -> None:
    async with provider_and_party(tmp_path) as (op, party):
        flow, query = await code_for(op, party, "hanna")
        other = Flow(flow.state, Flow.new().nonce, flow.verifier)
        with pytest.raises(OidcError, match="nonce is not this sign-in's"):
            await party.finish(other, query["state"], query["code"])


async def test_groups_kept_elsewhere_read_as_none_and_are_logged(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """Entra ID's "overage": too many groups, so the token names where they are
    (`_claim_names`, OpenID Connect's distributed claims) instead of listing them. The
    employee signs in as a member of no group, and a WARNING says why."""
    from tests.oidc.server import USERS

    many = {"name": "Max Many", "email": "max@example.com", "email_verified": True,
            "_claim_names": {"groups": "src1"},
            "_claim_sources": {"src1": {"endpoint": "https://graph.example.com/groups"}}}
    async with openid_provider(tmp_path, CLIENTS, {**USERS, "max": many}) as op:
        party = RelyingParty(op.issuer, "fmbot", "s3cret", CALLBACK,
                             scopes="openid profile email groups")
        flow, query = await code_for(op, party, "max")
        who = await party.finish(flow, query["state"], query["code"])
    assert (who.subject, who.groups) == ("max", ())
    assert any("too many groups for a token" in r.getMessage() for r in caplog.records)
