"""What every console page shares, the inspection pages (web.py) and signing in and out
(signin.py) alike: the Jinja2 templates (autoescaped: every value shown is escaped, what
customers and the model wrote included), the security headers and the checks a request
passes.

Security: a page needs a session (the cookie signin.py sets); without one it is the sign-in
page. Every POST carries the session's CSRF token (signing in carries a nonce instead:
signin.py) and, when the browser says where it comes from, an Origin of this server. Every
response forbids framing, sniffing, referrers and caching, under a Content-Security-Policy
that allows this server's stylesheet and nothing else: no script, inline or not."""

from __future__ import annotations

import hmac
import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import jinja2
from aiohttp import web

from bot.features.console.auth import Access, Signed

HERE = Path(__file__).parent
COOKIE = "fmbot_console"
CSP = ("default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
       "frame-ancestors 'none'; base-uri 'none'")
HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    # same-origin, not no-referrer: with no-referrer Chromium sends `Origin: null` on the
    # forms' POSTs, which the Origin check must refuse; other sites still get no referrer.
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
    "Cross-Origin-Opener-Policy": "same-origin",
}

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def templates() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(HERE / "templates"),
        autoescape=True,  # every template, whatever its name: nothing is shown unescaped
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["pretty"] = lambda value: json.dumps(value, ensure_ascii=False, indent=1,
                                                      default=str)
    env.filters["hhmm"] = lambda value: value.strftime("%H:%M") if value else ""
    return env


@web.middleware
async def secure_headers(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Every response, an error's included, under HEADERS."""
    try:
        response = await handler(request)
    except web.HTTPException as exc:
        exc.headers.update(HEADERS)
        raise
    response.headers.update(HEADERS)
    return response


class Pages:
    """Rendering, the session a request carries, the checks its form passes and the audit,
    for the console served at `path`."""

    def __init__(self, access: Access, *, path: str, public_url: str,
                 provider: bool) -> None:
        """`provider`: whether the sign-in page offers the company's OpenID Connect
        provider."""
        self.access = access
        self.path = path
        self.public_url = public_url
        self.provider = provider
        self.env = templates()

    def page(self, template: str, status: int = 200, **values: Any) -> web.Response:
        html = self.env.get_template(template).render(root=self.path, **values)
        return web.Response(text=html, status=status, content_type="text/html",
                            charset="utf-8")

    async def signed(self, request: web.Request) -> Signed | None:
        return await self.access.signed(request.cookies.get(COOKIE))

    async def audit(self, signed: Signed, action: str, detail: str) -> None:
        """Audited under the admin's Telegram id, or naming the provider's identity."""
        if signed.identity:
            detail = f"{detail} (by {signed.identity})"
        await self.access.audit(signed.audited_id, action, detail)

    def sign_in(self, why: str = "") -> web.Response:
        """What a request without a session gets instead of its page."""
        return self.page("signin.html", status=401, why=why, signed=None,
                         provider=self.provider)

    def same_origin(self, request: web.Request) -> bool:
        """A POST whose browser says where it comes from must come from here."""
        origin = request.headers.get("Origin")
        if origin is None:  # not said (an older browser): SameSite and the token still hold
            return True
        mine = {f"{request.scheme}://{request.host}"}
        if self.public_url:
            parts = urlsplit(self.public_url)
            mine.add(f"{parts.scheme}://{parts.netloc}")
        return origin in mine

    async def check_csrf(self, request: web.Request, signed: Signed) -> None:
        form = await request.post()
        token = str(form.get("csrf", ""))
        if not self.same_origin(request) or not hmac.compare_digest(token, signed.csrf):
            await self.audit(signed, "refused", "a form without its CSRF token")
            raise web.HTTPForbidden(text="This form is out of date: reload the page.")
