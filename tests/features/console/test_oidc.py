"""Signing in to the console with the company's OpenID Connect provider (issue 80): the code
flow with PKCE against a provider on loopback; only CONSOLE_OIDC_ADMINS get a session, a
forged state or an unverified address is refused, and every refusal is audited."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from tests.features.console.provider import (
    CLIENT_ID,
    CLIENT_SECRET,
    Provider,
    provider_on_loopback,
)
from tests.features.console.test_console import browser
from tests.features.console.world import World, console_world
from tests.features.sending import rows
from tests.ports import free_port

pytestmark = [pytest.mark.timeout(120)]


@asynccontextmanager
async def with_provider(tmp_path: Path) -> AsyncIterator[tuple[World, Provider]]:
    port = free_port()
    callback = f"http://127.0.0.1:{port}/console/oidc/callback"
    async with provider_on_loopback(callback) as provider:
        settings = {"CONSOLE_OIDC_ISSUER": provider.base, "CONSOLE_OIDC_CLIENT_ID": CLIENT_ID,
                    "CONSOLE_OIDC_CLIENT_SECRET": CLIENT_SECRET,
                    "CONSOLE_OIDC_ADMINS": "Lead@Example.com, boss@example.com"}
        async with console_world(tmp_path, settings=settings, port=port) as w:
            yield w, provider


async def test_an_admin_signs_in_with_the_company_provider(tmp_path: Path) -> None:
    async with with_provider(tmp_path) as (w, provider), browser() as http:
        page = await (await http.get(f"{w.console}/")).text()
        assert 'href="/console/oidc/start"' in page
        signed_in = await http.get(f"{w.console}/oidc/start")  # to the provider and back
        assert signed_in.status == 200, await signed_in.text()
        assert "As lead@example.com." in await signed_in.text()
        listing = await http.get(f"{w.console}/")
        assert listing.status == 200
        assert "lead@example.com" in await listing.text()
        assert provider.tokens_issued == 1
        audit = await rows(w.tester, "SELECT action, detail FROM console_audit")
    assert {"action": "signed in", "detail": "with the provider as lead@example.com"} in audit


async def test_only_the_named_verified_addresses_get_a_session(tmp_path: Path) -> None:
    async with with_provider(tmp_path) as (w, provider):
        provider.email = "someone@example.com"
        async with browser() as http:
            refused = await http.get(f"{w.console}/oidc/start")
            assert refused.status == 403
            assert "someone@example.com is not one of the console&#39;s admins" in \
                await refused.text()
            assert (await http.get(f"{w.console}/")).status == 401
        provider.email, provider.email_verified = "boss@example.com", False
        async with browser() as http:
            unverified = await http.get(f"{w.console}/oidc/start")
            assert unverified.status == 403
            assert "no verified e-mail" in await unverified.text()
        audit = await rows(w.tester, "SELECT action FROM console_audit")
    assert [a["action"] for a in audit].count("refused") == 2


async def test_a_callback_with_another_state_is_refused(tmp_path: Path) -> None:
    async with with_provider(tmp_path) as (w, _), browser() as http:
        started = await http.get(f"{w.console}/oidc/start", allow_redirects=False)
        assert started.status == 302
        forged = await http.get(f"{w.console}/oidc/callback",
                                params={"state": "someone-elses", "code": "x"})
        assert forged.status == 403
        assert "state does not match" in await forged.text()
        assert (await http.get(f"{w.console}/")).status == 401


async def test_in_a_browser_the_provider_signs_the_lead_in(tmp_path: Path) -> None:
    """Chromium keeps the SameSite=Strict session cookie set on the provider's redirect back,
    and sends it on the signed-in page's own way on to the console."""
    from tests.browser import CHROMIUM

    if CHROMIUM is None:
        pytest.skip("no browser: Debian's chromium is not installed (apt-get install chromium)")
    playwright = pytest.importorskip("playwright.async_api")
    async with with_provider(tmp_path) as (w, _), playwright.async_playwright() as p:
        browser_ = await p.chromium.launch(executable_path=CHROMIUM,
                                           args=["--no-sandbox", "--disable-gpu"])
        try:
            page = await (await browser_.new_context()).new_page()
            await page.goto(f"{w.console}/")
            await page.click("#oidc")
            await page.wait_for_selector("#filters")
            assert await page.text_content(".top .who") == "lead@example.com"
        finally:
            await browser_.close()


async def test_an_admin_signs_in_through_the_certified_provider(tmp_path: Path) -> None:
    """The same sign-in through oidc-provider (tests/oidc), with its own login page: the
    console's admin sign-in and the employee sign-in share one relying party (issue 81)."""
    from tests.oidc.server import openid_provider

    port = free_port()
    callback = f"http://127.0.0.1:{port}/console/oidc/callback"
    users = {"lead": {"name": "Lena Lead", "email": "lead@example.com",
                      "email_verified": True}}
    async with openid_provider(tmp_path, [{
            "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET, "redirect_uris": [callback],
            "token_endpoint_auth_method": "client_secret_post"}], users) as op:
        settings = {"CONSOLE_OIDC_ISSUER": op.issuer, "CONSOLE_OIDC_CLIENT_ID": CLIENT_ID,
                    "CONSOLE_OIDC_CLIENT_SECRET": CLIENT_SECRET,
                    "CONSOLE_OIDC_ADMINS": "lead@example.com"}
        async with console_world(tmp_path, settings=settings, port=port) as w, \
                browser() as http:
            started = await http.get(f"{w.console}/oidc/start", allow_redirects=False)
            back = await op.sign_in(started.headers["Location"], "lead")
            assert back.startswith(callback), back
            signed_in = await http.get(back)
            assert signed_in.status == 200, await signed_in.text()
            assert "As lead@example.com." in await signed_in.text()
            assert (await http.get(f"{w.console}/")).status == 200
