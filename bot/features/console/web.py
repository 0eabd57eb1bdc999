"""The console's pages: an aiohttp sub-application mounted at CONSOLE_PATH on the bot's web
server (the polling mode's WEB_LISTEN, or the webhook's), rendered on the server with Jinja2
(autoescaped: every value shown is escaped, what customers and the model wrote included).

Security: a page needs a session (cookie: HttpOnly, SameSite=Strict, Secure under https);
without one it is the sign-in page. Every POST carries the session's CSRF token (signing in
carries a nonce its own cookie holds, as a double submit) and, when the browser says where it
comes from, an Origin of this server. Every response forbids framing, sniffing, referrers
and caching, under a Content-Security-Policy that allows this server's stylesheet and nothing
else: no script, inline or not."""

from __future__ import annotations

import datetime as dt
import hmac
import json
import secrets
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode, urlsplit

import jinja2
from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.features.console.agreement import agreement, set_verdict, verdict_of
from bot.features.console.auth import Access, Signed
from bot.features.console.drafting import Drafting
from bot.features.console.figures import Figures
from bot.features.console.models import ConsoleCaseDraft, DraftStatus
from bot.features.console.queries import PAGE, Filters, conversations
from bot.features.console.transcript import transcript
from bot.plugin.offers import CaseFacts, CaseNotes, DeskFigures, ScoredCases
from bot.plugin.oidc import OidcError
from bot.plugin.storage import Conversation, utcnow

if TYPE_CHECKING:  # PyJWT is imported only when a provider is configured
    from bot.features.console.oidc import Provider

HERE = Path(__file__).parent
COOKIE = "fmbot_console"
LOGIN_COOKIE = "fmbot_console_login"
OIDC_COOKIE = "fmbot_console_oidc"
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

#: Seconds between the reloads of a draft's page while it is being made.
REFRESH = 2

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


class Console:
    """The console's pages over the bot's database (`facts`: the desk's, when it is on)."""

    def __init__(
        self, access: Access, sessionmaker: async_sessionmaker[AsyncSession],
        facts: CaseFacts | None, *, path: str, public_url: str, secure: bool,
        figures: DeskFigures | None = None, drafting: Drafting | None = None,
        scored: ScoredCases | None = None, provider: Provider | None = None,
        notes: CaseNotes | None = None,
    ) -> None:
        """`facts` and `figures`: the support desk's, when it is on; `drafting`: what drafts
        eval cases in the background (None: the button is not offered); `scored`: the
        desk's scorer's verdicts, which the judge-against-people page reads; `provider`:
        the company's OpenID Connect provider admins may sign in with; `notes`: the
        operators' internal notes, shown in the transcripts."""
        self.access = access
        self.sessionmaker = sessionmaker
        self.facts = facts
        self.figures = Figures(sessionmaker, figures)
        self.drafting = drafting
        self.scored = scored
        self.provider = provider
        self.notes = notes
        self.path = path
        self.public_url = public_url
        self.secure = secure
        self.env = templates()

    def link(self, signed: str) -> str:
        """The sign-in link for a signed token."""
        return f"{self.public_url}{self.path}/login?{urlencode({'t': signed})}"

    # -- the application -------------------------------------------------------------------

    def mount(self, server: web.Application) -> None:
        """Add the console's routes to `server` (the bot's web server, or the webhook's)."""
        app = web.Application(middlewares=[self._headers], client_max_size=64 * 1024)
        app.router.add_get("/", self.listing)
        app.router.add_get("/c/{id:[0-9]{1,18}}", self.conversation)
        app.router.add_get("/figures", self.live_figures)
        app.router.add_post("/c/{id:[0-9]{1,18}}/case", self.make_case)
        app.router.add_get("/c/{id:[0-9]{1,18}}/case/{draft:[0-9]{1,18}}", self.case_page)
        app.router.add_get("/c/{id:[0-9]{1,18}}/case/{draft:[0-9]{1,18}}/case.toml",
                           self.case_download)
        app.router.add_post("/c/{id:[0-9]{1,18}}/verdict", self.give_verdict)
        app.router.add_get("/agreement", self.judge_against_people)
        app.router.add_get("/login", self.login_page)
        app.router.add_post("/login", self.login)
        app.router.add_post("/logout", self.logout)
        app.router.add_get("/oidc/start", self.oidc_start)
        app.router.add_get("/oidc/callback", self.oidc_callback)
        app.router.add_static("/static/", HERE / "static", append_version=False)
        server.router.add_get(self.path, self._to_root)
        server.add_subapp(self.path, app)

    async def _to_root(self, request: web.Request) -> web.StreamResponse:
        raise web.HTTPFound(f"{self.path}/", headers=HEADERS)

    @web.middleware
    async def _headers(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        try:
            response = await handler(request)
        except web.HTTPException as exc:
            exc.headers.update(HEADERS)
            raise
        response.headers.update(HEADERS)
        return response

    def _page(self, template: str, status: int = 200, **values: Any) -> web.Response:
        html = self.env.get_template(template).render(root=self.path, **values)
        return web.Response(text=html, status=status, content_type="text/html",
                            charset="utf-8")

    async def _signed(self, request: web.Request) -> Signed | None:
        return await self.access.signed(request.cookies.get(COOKIE))

    async def _audit(self, signed: Signed, action: str, detail: str) -> None:
        """Audited under the admin's Telegram id, or naming the provider's identity."""
        if signed.identity:
            detail = f"{detail} (by {signed.identity})"
        await self.access.audit(signed.audited_id, action, detail)

    def _sign_in(self, why: str = "") -> web.Response:
        return self._page("signin.html", status=401, why=why, signed=None,
                          provider=self.provider is not None)

    def _same_origin(self, request: web.Request) -> bool:
        """A POST whose browser says where it comes from must come from here."""
        origin = request.headers.get("Origin")
        if origin is None:  # not said (an older browser): SameSite and the token still hold
            return True
        mine = {f"{request.scheme}://{request.host}"}
        if self.public_url:
            parts = urlsplit(self.public_url)
            mine.add(f"{parts.scheme}://{parts.netloc}")
        return origin in mine

    # -- signing in ------------------------------------------------------------------------

    async def login_page(self, request: web.Request) -> web.StreamResponse:
        token = request.query.get("t", "")
        if not await self.access.usable(token):
            await self.access.audit(None, "refused", "a sign-in link used, expired or forged")
            return self._page("refused.html", status=403, signed=None, why="")
        nonce = secrets.token_urlsafe(24)
        response = self._page("login.html", token=token, nonce=nonce, signed=None)
        response.set_cookie(LOGIN_COOKIE, nonce, max_age=300, path=self.path, httponly=True,
                            samesite="Strict", secure=self.secure)
        return response

    async def login(self, request: web.Request) -> web.StreamResponse:
        form = await request.post()
        nonce = str(form.get("nonce", ""))
        expected = request.cookies.get(LOGIN_COOKIE, "")
        if (not self._same_origin(request) or not nonce or not expected
                or not hmac.compare_digest(nonce, expected)):
            await self.access.audit(None, "refused", "a sign-in without its nonce")
            return self._page("refused.html", status=403, signed=None, why="")
        redeemed = await self.access.redeem(str(form.get("t", "")))
        if redeemed is None:
            return self._page("refused.html", status=403, signed=None, why="")
        cookie, _ = redeemed
        response = web.HTTPSeeOther(f"{self.path}/")
        response.set_cookie(COOKIE, cookie, max_age=int(self.access.session_ttl.total_seconds()),
                            path=self.path, httponly=True, samesite="Strict",
                            secure=self.secure)
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
            return self._page("refused.html", status=502, signed=None, why=str(exc))
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
            response = self._page("refused.html", status=403, signed=None, why=why)
            response.del_cookie(OIDC_COOKIE, path=f"{self.path}/oidc")
            return response
        cookie, signed = opened
        # A page, not a redirect: the session cookie is SameSite=Strict, and a redirect
        # would still count as the provider's navigation; the page's own goes from here.
        response = self._page("signed_in.html", signed=signed)
        response.set_cookie(COOKIE, cookie, max_age=int(self.access.session_ttl.total_seconds()),
                            path=self.path, httponly=True, samesite="Strict",
                            secure=self.secure)
        response.del_cookie(OIDC_COOKIE, path=f"{self.path}/oidc")
        return response

    async def logout(self, request: web.Request) -> web.StreamResponse:
        signed = await self._signed(request)
        if signed is None:
            return self._sign_in()
        await self._check_csrf(request, signed)
        await self.access.sign_out(request.cookies.get(COOKIE, ""), signed)
        response = web.HTTPSeeOther(f"{self.path}/")
        response.del_cookie(COOKIE, path=self.path)
        raise response

    async def _check_csrf(self, request: web.Request, signed: Signed) -> None:
        form = await request.post()
        token = str(form.get("csrf", ""))
        if not self._same_origin(request) or not hmac.compare_digest(token, signed.csrf):
            await self._audit(signed, "refused", "a form without its CSRF token")
            raise web.HTTPForbidden(text="This form is out of date: reload the page.")

    # -- the pages -------------------------------------------------------------------------

    async def listing(self, request: web.Request) -> web.StreamResponse:
        signed = await self._signed(request)
        if signed is None:
            return self._sign_in()
        filters = Filters.read(request.query, utcnow().date())
        async with self.sessionmaker() as session:
            found = await conversations(session, filters, self.facts)
            await session.commit()
        days = {
            "previous": filters.query(day=(filters.day - dt.timedelta(days=1)).isoformat(),
                                      page=None),
            "next": filters.query(day=(filters.day + dt.timedelta(days=1)).isoformat(),
                                  page=None),
        }
        pages = {
            "previous": filters.query(page=filters.page - 1) if filters.page > 1 else None,
            "next": filters.query(page=filters.page + 1)
            if filters.page * PAGE < found.total else None,
        }
        return self._page("list.html", signed=signed, filters=filters, found=found,
                          days={k: urlencode(v) for k, v in days.items()},
                          pages={k: urlencode(v) if v else "" for k, v in pages.items()},
                          desk=self.facts is not None, here=urlencode(filters.query()))

    async def conversation(self, request: web.Request) -> web.StreamResponse:
        signed = await self._signed(request)
        if signed is None:
            return self._sign_in()
        conversation_id = int(request.match_info["id"])
        async with self.sessionmaker() as session:
            shown = await transcript(session, conversation_id, self.facts, self.notes)
            verdict = await verdict_of(session, conversation_id)
            await session.commit()
        if shown is None:
            raise web.HTTPNotFound(text="No such conversation (erased, or never stored).")
        await self._audit(signed, "read", f"conversation {conversation_id}")
        back = request.query.get("back", "")
        return self._page("conversation.html", signed=signed, c=shown,
                          back=back if back.startswith("day=") else "",
                          cases=self.drafting is not None, verdict=verdict,
                          verdicts=self.scored is not None)

    async def give_verdict(self, request: web.Request) -> web.StreamResponse:
        """The lead's own verdict on a conversation (resolved or not)."""
        signed = await self._signed(request)
        if signed is None:
            return self._sign_in()
        await self._check_csrf(request, signed)
        resolved = {"yes": True, "no": False}.get(str((await request.post()).get("resolved")))
        if resolved is None:
            raise web.HTTPBadRequest(text="Say resolved yes or no.")
        conversation_id = int(request.match_info["id"])
        async with self.sessionmaker() as session:
            if await session.get(Conversation, conversation_id) is None:
                raise web.HTTPNotFound(text="No such conversation.")
            await set_verdict(session, conversation_id, signed.user_id, resolved)
            await session.commit()
        await self._audit(signed, "verdict",
                                f"conversation {conversation_id}: "
                                f"{'resolved' if resolved else 'not resolved'}")
        raise web.HTTPSeeOther(f"{self.path}/c/{conversation_id}")

    async def judge_against_people(self, request: web.Request) -> web.StreamResponse:
        signed = await self._signed(request)
        if signed is None:
            return self._sign_in()
        weeks = {"4": 4, "8": 8, "26": 26}.get(request.query.get("weeks", ""), 8)
        found = None
        if self.scored is not None:
            async with self.sessionmaker() as session:
                found = await agreement(session, self.scored, self.facts, weeks,
                                        utcnow().date())
                await session.commit()
        return self._page("agreement.html", signed=signed, a=found, weeks=weeks)

    async def make_case(self, request: web.Request) -> web.StreamResponse:
        """Store the request and answer at once with its page; the drafting runs in the
        background (drafting.py). A draft of the conversation under way is shown instead of
        starting another."""
        signed = await self._signed(request)
        if signed is None:
            return self._sign_in()
        await self._check_csrf(request, signed)
        if self.drafting is None:
            raise web.HTTPNotFound(text="Making eval cases is off.")
        form = await request.post()
        criteria = "\n".join(str(form.get("criteria", ""))[:2000].splitlines()[:10])
        conversation_id = int(request.match_info["id"])
        async with self.sessionmaker() as session:
            found = await session.get(Conversation, conversation_id)
            await session.commit()
        if found is None:
            raise web.HTTPNotFound(text="No such conversation (erased, or never stored).")
        draft_id, new = await self.drafting.request(conversation_id, signed.user_id,
                                                    signed.identity, criteria)
        if new:
            await self._audit(signed, "eval case asked",
                              f"conversation {conversation_id}, draft {draft_id}")
        raise web.HTTPSeeOther(f"{self.path}/c/{conversation_id}/case/{draft_id}")

    async def _draft_of(self, request: web.Request) -> ConsoleCaseDraft:
        if self.drafting is None:
            raise web.HTTPNotFound(text="Making eval cases is off.")
        draft = await self.drafting.get(int(request.match_info["draft"]))
        if draft is None or draft.conversation_id != int(request.match_info["id"]):
            raise web.HTTPNotFound(text="No such eval case (erased with its conversation?).")
        return draft

    async def case_page(self, request: web.Request) -> web.StreamResponse:
        """The draft's page: "drafting…" refreshing itself (a meta refresh: no script) until
        it is done (the case, where it went) or failed (why)."""
        signed = await self._signed(request)
        if signed is None:
            return self._sign_in()
        draft = await self._draft_of(request)
        working = draft.status in (DraftStatus.PENDING.value, DraftStatus.RUNNING.value)
        written = Path(draft.written) if draft.written else None
        return self._page("case.html", signed=signed, d=draft, working=working,
                          written=written, refresh=REFRESH if working else 0)

    async def case_download(self, request: web.Request) -> web.StreamResponse:
        signed = await self._signed(request)
        if signed is None:
            return self._sign_in()
        draft = await self._draft_of(request)
        if draft.status != DraftStatus.DONE.value:
            raise web.HTTPNotFound(text="This eval case is not made (yet).")
        return web.Response(
            text=draft.case_text, content_type="application/toml", charset="utf-8",
            headers={"Content-Disposition":
                     f'attachment; filename="case-{draft.conversation_id}.toml"'})

    async def live_figures(self, request: web.Request) -> web.StreamResponse:
        signed = await self._signed(request)
        if signed is None:
            return self._sign_in()
        days = Figures.period(request.query.get("days"))
        shown = await self.figures.read(days, utcnow().date())
        return self._page("figures.html", signed=signed, f=shown, days=days,
                          periods=Figures.PERIODS)
