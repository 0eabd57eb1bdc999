"""Signing in to the console's pages and out of them, on the console's sub-application.

A one-time link (`/login?t=`, which /console sends) shows a page whose form posts the token
back with a nonce its own cookie holds, as a double submit (and, when the browser says where
it comes from, an Origin of this server); the company's OpenID Connect provider
(`/oidc/start`, `/oidc/callback`) keeps its flow's state in a cookie of its own, sent only
to the callback. Either ends in the session cookie (HttpOnly, SameSite=Strict, Secure under
https) that every page reads (pages.py); signing out is a POST with the session's CSRF
token. The links, sessions and audit are auth.py's, the provider's flow oidc.py's."""

from __future__ import annotations

import hmac
import secrets
from typing import TYPE_CHECKING
from urllib.parse import urlencode

from aiohttp import web

from bot.features.console.pages import COOKIE, Pages
from bot.plugin.oidc import OidcError

if TYPE_CHECKING:  # PyJWT is imported only when a provider is configured
    from bot.features.console.oidc import Provider

LOGIN_COOKIE = "fmbot_console_login"
OIDC_COOKIE = "fmbot_console_oidc"


class SignIn:
    """The console's sign-in routes: a link's, the company's provider's, and signing out."""

    def __init__(self, pages: Pages, provider: Provider | None, *, secure: bool) -> None:
        """`provider`: the company's OpenID Connect provider admins may sign in with;
        `secure`: whether the cookies are sent over https only."""
        self.pages = pages
        self.access = pages.access
        self.path = pages.path
        self.provider = provider
        self.secure = secure

    def link(self, signed: str) -> str:
        """The sign-in link for a signed token."""
        return f"{self.pages.public_url}{self.path}/login?{urlencode({'t': signed})}"

    def add_routes(self, router: web.UrlDispatcher) -> None:
        """Add the sign-in routes to the console's sub-application."""
        router.add_get("/login", self.login_page)
        router.add_post("/login", self.login)
        router.add_post("/logout", self.logout)
        router.add_get("/oidc/start", self.oidc_start)
        router.add_get("/oidc/callback", self.oidc_callback)

    async def login_page(self, request: web.Request) -> web.StreamResponse:
        token = request.query.get("t", "")
        if not await self.access.usable(token):
            await self.access.audit(None, "refused", "a sign-in link used, expired or forged")
            return self.pages.page("refused.html", status=403, signed=None, why="")
        nonce = secrets.token_urlsafe(24)
        response = self.pages.page("login.html", token=token, nonce=nonce, signed=None)
        response.set_cookie(LOGIN_COOKIE, nonce, max_age=300, path=self.path, httponly=True,
                            samesite="Strict", secure=self.secure)
        return response

    async def login(self, request: web.Request) -> web.StreamResponse:
        form = await request.post()
        nonce = str(form.get("nonce", ""))
        expected = request.cookies.get(LOGIN_COOKIE, "")
        if (not self.pages.same_origin(request) or not nonce or not expected
                or not hmac.compare_digest(nonce, expected)):
            await self.access.audit(None, "refused", "a sign-in without its nonce")
            return self.pages.page("refused.html", status=403, signed=None, why="")
        redeemed = await self.access.redeem(str(form.get("t", "")))
        if redeemed is None:
            return self.pages.page("refused.html", status=403, signed=None, why="")
        cookie, _ = redeemed
        response = web.HTTPSeeOther(f"{self.path}/")
        self._open_session(response, cookie)
        response.del_cookie(LOGIN_COOKIE, path=self.path)
        raise response

    async def oidc_start(self, request: web.Request) -> web.StreamResponse:
        """To the company's provider, with this sign-in's state in a cookie of its own."""
        if self.provider is None:
            raise web.HTTPNotFound(text="No OpenID Connect provider is configured.")
        try:
            where, cookie = await self.provider.start()
        except OidcError as exc:
            await self.access.audit(None, "refused", f"OpenID Connect: {exc}")
            return self.pages.page("refused.html", status=502, signed=None, why=str(exc))
        response = web.HTTPFound(where)
        # Lax, not Strict: the provider's redirect back is a navigation from another site.
        response.set_cookie(OIDC_COOKIE, cookie, max_age=600, path=f"{self.path}/oidc",
                            httponly=True, samesite="Lax", secure=self.secure)
        raise response

    async def oidc_callback(self, request: web.Request) -> web.StreamResponse:
        if self.provider is None:
            raise web.HTTPNotFound(text="No OpenID Connect provider is configured.")
        opened = None
        try:
            if "error" in request.query:
                raise OidcError(f"the provider said {request.query['error'][:100]!r}")
            email = await self.provider.finish(request.cookies.get(OIDC_COOKIE, ""),
                                               request.query.get("state", ""),
                                               request.query.get("code", ""))
            opened = await self.access.open_for(email)
            why = "" if opened is not None else f"{email} is not one of the console's admins"
        except OidcError as exc:
            why = str(exc)
            await self.access.audit(None, "refused", f"OpenID Connect: {why}")
        if opened is None:
            response = self.pages.page("refused.html", status=403, signed=None, why=why)
            response.del_cookie(OIDC_COOKIE, path=f"{self.path}/oidc")
            return response
        cookie, signed = opened
        # A page, not a redirect: the session cookie is SameSite=Strict, and a redirect
        # would still count as the provider's navigation; the page's own goes from here.
        response = self.pages.page("signed_in.html", signed=signed)
        self._open_session(response, cookie)
        response.del_cookie(OIDC_COOKIE, path=f"{self.path}/oidc")
        return response

    def _open_session(self, response: web.StreamResponse, cookie: str) -> None:
        """The session cookie every page reads, however the admin signed in."""
        response.set_cookie(COOKIE, cookie, max_age=int(self.access.session_ttl.total_seconds()),
                            path=self.path, httponly=True, samesite="Strict",
                            secure=self.secure)

    async def logout(self, request: web.Request) -> web.StreamResponse:
        signed = await self.pages.signed(request)
        if signed is None:
            return self.pages.sign_in()
        await self.pages.check_csrf(request, signed)
        await self.access.sign_out(request.cookies.get(COOKIE, ""), signed)
        response = web.HTTPSeeOther(f"{self.path}/")
        response.del_cookie(COOKIE, path=self.path)
        raise response
