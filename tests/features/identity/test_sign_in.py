"""An employee signs in to the bot through the certified OpenID Provider (oidc-provider on
127.0.0.1, tests/oidc): /login's button, the provider's pages, the callback on the bot's web
server, the chat told who they are; /whoami, /logout, /forget; IDENTITY_REQUIRED=on. A
wrong state, a replayed code, a token signed by another key, an expired token and another
audience are each refused with a line in the browser, the chat and the log."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from bot import App, ToolContext
from bot.testing import BotTester, ScriptedModel, TestModel, TestUser
from tests.oidc.server import OpenIdProvider, openid_provider
from tests.ports import free_port

pytestmark = [pytest.mark.timeout(180)]


@dataclass
class Desk:
    tester: BotTester
    op: OpenIdProvider
    base: str

    def said_to(self, user: TestUser) -> list[str]:
        return [str(c.params.get("text", "")) for c in self.tester.sent
                if c.chat_id == user.id and c.method == "sendMessage"]

    async def login_url(self, user: TestUser) -> str:
        reply = await user.says("/login")
        [[button]] = reply.messages[-1].buttons
        return str(button["url"])

    async def sign_in(self, user: TestUser, login: str) -> httpx.Response:
        """/login, the provider's pages as `login`, and the browser back at the bot."""
        back = await self.op.sign_in(await self.login_url(user), login)
        assert back.startswith(f"{self.base}/oidc/callback?"), back
        async with httpx.AsyncClient() as browser:
            return await browser.get(back)


@asynccontextmanager
async def helpdesk(tmp_path: Path, app: App | None = None, model: TestModel | None = None,
                   **more: str) -> AsyncIterator[Desk]:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    clients = [{"client_id": "fmbot", "client_secret": "s3cret",
                "redirect_uris": [f"{base}/oidc/callback"],
                "token_endpoint_auth_method": "client_secret_post"}]
    async with openid_provider(tmp_path, clients) as op:
        settings = {"WEB_LISTEN": f"127.0.0.1:{port}", "PUBLIC_URL": base,
                    "OIDC_ISSUER": op.issuer, "OIDC_CLIENT_ID": "fmbot",
                    "OIDC_CLIENT_SECRET": "s3cret", "OIDC_SCOPES": "openid profile email groups",
                    **more}
        async with BotTester(app or App(env_file=None), model=model or ScriptedModel("Hello."),
                             settings=settings, real_time=True) as tester:
            yield Desk(tester, op, base)


async def test_an_employee_signs_in_and_out(tmp_path: Path) -> None:
    async with helpdesk(tmp_path) as desk:
        hanna = desk.tester.user("Hanna")
        assert "You are not signed in" in (await hanna.says("/whoami")).text
        page = await desk.sign_in(hanna, "hanna")
        assert page.status_code == 200
        assert "go back to Telegram" in page.text
        told = "You are signed in as Hanna HR <hanna@example.com>. Groups: hr, managers."
        assert desk.said_to(hanna)[-1] == told
        assert (await hanna.says("/whoami")).text == told
        assert "signed out" in (await hanna.says("/logout")).text
        assert "You are not signed in" in (await hanna.says("/whoami")).text
        await desk.sign_in(hanna, "hanna")
        assert "forgotten" in (await hanna.says("/forget")).text
        assert "You are not signed in" in (await hanna.says("/whoami")).text


async def test_a_wrong_state_and_a_replayed_code_are_refused(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="bot.features.identity")
    async with helpdesk(tmp_path) as desk, httpx.AsyncClient() as browser:
        ed = desk.tester.user("Ed")
        back = await desk.op.sign_in(await desk.login_url(ed), "ed")
        forged = back.replace("state=", "state=x")
        refused = await browser.get(forged)
        assert refused.status_code == 400
        assert "unknown, already used or older than 10 minutes" in refused.text
        # The forged state did not use up the real one.
        assert (await browser.get(back)).status_code == 200
        replayed = await browser.get(back)
        assert replayed.status_code == 400
        assert "already used" in replayed.text
        assert (await ed.says("/whoami")).text.startswith("You are signed in as Ed Engineer")
    refusals = [r.getMessage() for r in caplog.records if "refused" in r.getMessage()]
    assert len(refusals) == 2


@pytest.mark.parametrize(("mode", "said"), [
    ("foreign", "the ID token is signed with a key the provider does not publish"),
    ("expired", "the ID token has expired"),
    ("audience", "the ID token was issued for another client (audience)"),
])
async def test_a_token_the_bot_cannot_trust_is_refused(
        tmp_path: Path, caplog: pytest.LogCaptureFixture, mode: str, said: str) -> None:
    caplog.set_level(logging.WARNING, logger="bot.features.identity")
    async with helpdesk(tmp_path) as desk:
        nora = desk.tester.user("Nora")
        await desk.op.tamper(mode)
        page = await desk.sign_in(nora, "nora")
        assert page.status_code == 403
        assert said in page.text
        assert desk.said_to(nora)[-1] == \
            f"The sign-in did not work: {said}. Send /login to try again."
        assert "You are not signed in" in (await nora.says("/whoami")).text
    assert any(said in r.getMessage() for r in caplog.records)


async def test_a_required_sign_in_answers_only_employees(tmp_path: Path) -> None:
    async with helpdesk(tmp_path, IDENTITY_REQUIRED="on") as desk:
        ed = desk.tester.user("Ed")
        first = await ed.says("Where is the VPN guide?")
        assert first.text.startswith("This bot answers employees only.")
        assert first.messages[-1].button_texts() == ["Sign in"]
        await desk.sign_in(ed, "ed")
        assert (await ed.says("Where is the VPN guide?")).text == "Hello."


async def test_the_turn_knows_the_employee(tmp_path: Path) -> None:
    """The update's Principal carries the employee to the turn: the App's context providers
    (and the tools' identity headers) see the e-mail and the groups; not signed in, none."""
    app = App(env_file=None)
    seen: list[tuple[str, tuple[str, ...]]] = []

    @app.context
    async def who(ctx: ToolContext) -> str | None:
        seen.append((ctx.email, ctx.groups))
        return None

    async with helpdesk(tmp_path, app) as desk:
        hanna = desk.tester.user("Hanna")
        await hanna.says("Hello?")
        await desk.sign_in(hanna, "hanna")
        await hanna.says("Hello again?")
        await hanna.says("/logout")
        await hanna.says("Still there?")
    assert seen == [("", ()), ("hanna@example.com", ("hr", "managers")), ("", ())]


async def test_an_unverified_address_is_not_kept(tmp_path: Path) -> None:
    """Tools trust X-Fmbot-User-Email: an address the provider says is unverified is not
    bound, the rest of the sign-in is."""
    from tests.oidc.server import USERS

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    users = {**USERS, "eve": {"name": "Eve", "email": "ceo@example.com",
                              "email_verified": False, "groups": ["sales"]}}
    clients = [{"client_id": "fmbot", "redirect_uris": [f"{base}/oidc/callback"],
                "token_endpoint_auth_method": "none"}]
    async with openid_provider(tmp_path, clients, users) as op:
        settings = {"WEB_LISTEN": f"127.0.0.1:{port}", "PUBLIC_URL": base,
                    "OIDC_ISSUER": op.issuer, "OIDC_CLIENT_ID": "fmbot",
                    "OIDC_SCOPES": "openid profile email groups"}
        async with BotTester(App(env_file=None), model=ScriptedModel("Hello."),
                             settings=settings, real_time=True) as tester:
            desk = Desk(tester, op, base)
            eve = tester.user("Eve")
            assert (await desk.sign_in(eve, "eve")).status_code == 200
            assert (await eve.says("/whoami")).text == \
                "You are signed in as Eve. Groups: sales."


async def test_an_expired_sign_in_asks_again(tmp_path: Path) -> None:
    """IDENTITY_TTL ran out (the binding's stored expiry moved into the past, as time
    would): the next message is not answered but told so, with a new button; /whoami says
    not signed in; /logout then /login is "not signed in", not "expired"."""
    import datetime as dt

    from sqlalchemy import text

    async with helpdesk(tmp_path, IDENTITY_REQUIRED="on") as desk:
        ed = desk.tester.user("Ed")
        await desk.sign_in(ed, "ed")
        assert (await ed.says("Where is the VPN guide?")).text == "Hello."
        past = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
        async with desk.tester.built.core.db.sessionmaker() as session:
            await session.execute(text("UPDATE identity_bindings SET expires_at = :past"),
                                  {"past": past.replace(tzinfo=None)})
            await session.commit()
        asked = await ed.says("Where is the VPN guide?")
        assert asked.text.startswith("Your sign-in has expired. Sign in with your company")
        assert asked.messages[-1].button_texts() == ["Sign in"]
        assert "You are not signed in" in (await ed.says("/whoami")).text
        await desk.sign_in(ed, "ed")
        assert (await ed.says("Where is the VPN guide?")).text == "Hello."
        await ed.says("/logout")
        assert (await ed.says("Hello?")).text.startswith("This bot answers employees only.")


async def test_the_sign_in_speaks_russian(tmp_path: Path) -> None:
    """A user writing in Russian gets every line of the sign-in in Russian: the button, the
    chat's line after the callback, the browser page, /whoami, /logout."""
    async with helpdesk(tmp_path, IDENTITY_REQUIRED="on") as desk:
        olga = desk.tester.user("Olga", language="ru")
        first = await olga.says("Где инструкция по VPN?")
        assert first.text.startswith("Этот бот отвечает только сотрудникам. Войдите")
        assert first.messages[-1].button_texts() == ["Войти"]
        page = await desk.sign_in(olga, "hanna")
        assert page.status_code == 200
        assert "вернуться в Telegram" in page.text
        told = "Вы вошли как Hanna HR <hanna@example.com>. Группы: hr, managers."
        assert desk.said_to(olga)[-1] == told
        assert (await olga.says("/whoami")).text == told
        assert (await olga.says("/logout")).text.startswith("Вы вышли.")


async def test_the_desks_card_names_the_employee(tmp_path: Path) -> None:
    """A signed-in employee asks for a person: the operators' card says who they are at the
    company (name, e-mail, groups); someone not signed in gets no such line."""
    support = -1001234567890
    async with helpdesk(tmp_path, SUPPORT_CHAT_ID=str(support)) as desk:
        hanna, nora = desk.tester.user("Hanna"), desk.tester.user("Nora")
        await desk.sign_in(hanna, "hanna")
        await hanna.says("/operator")
        await nora.says("/operator")
        cards = [str(c.params.get("text", "")) for c in desk.tester.sent
                 if c.chat_id == support and c.method == "sendMessage"
                 and str(c.params.get("text", "")).startswith("🆘")]
    [hannas] = [c for c in cards if "Hanna" in c.splitlines()[0]]
    [noras] = [c for c in cards if "Nora" in c.splitlines()[0]]
    assert "Employee: Hanna HR <hanna@example.com>; groups: hr, managers" in hannas
    assert "Employee:" not in noras
