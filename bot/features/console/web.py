"""The console's pages: an aiohttp sub-application mounted at CONSOLE_PATH on the bot's web
server (the polling mode's WEB_LISTEN, or the webhook's), rendered on the server with Jinja2:
the day's list, a conversation's transcript and the lead's verdict on it, the judge against
people, eval cases made from conversations and the live figures. What every page shares (its
templates, security headers, session, CSRF and Origin checks) is pages.py's; signing in and
out, on the same sub-application, signin.py's."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlencode

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.features.console.agreement import agreement, set_verdict, verdict_of
from bot.features.console.auth import Access
from bot.features.console.drafting import Drafting
from bot.features.console.figures import Figures
from bot.features.console.models import ConsoleCaseDraft, DraftStatus
from bot.features.console.pages import HEADERS, HERE, Pages, secure_headers
from bot.features.console.queries import PAGE, Filters, conversations
from bot.features.console.signin import SignIn
from bot.features.console.transcript import transcript
from bot.plugin.offers import CaseFacts, CaseNotes, DeskFigures, ScoredCases
from bot.plugin.storage import Conversation, utcnow

if TYPE_CHECKING:  # PyJWT is imported only when a provider is configured
    from bot.features.console.oidc import Provider

#: Seconds between the reloads of a draft's page while it is being made.
REFRESH = 2


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
        the company's OpenID Connect provider admins may sign in with (signin.py);
        `notes`: the operators' internal notes, shown in the transcripts."""
        self.access = access
        self.sessionmaker = sessionmaker
        self.facts = facts
        self.figures = Figures(sessionmaker, figures)
        self.drafting = drafting
        self.scored = scored
        self.notes = notes
        self.path = path
        self.pages = Pages(access, path=path, public_url=public_url,
                           provider=provider is not None)
        self.signin = SignIn(self.pages, provider, secure=secure)

    # -- the application -------------------------------------------------------------------

    def mount(self, server: web.Application) -> None:
        """Add the console's routes, signing in's included, to `server` (the bot's web
        server, or the webhook's)."""
        app = web.Application(middlewares=[secure_headers], client_max_size=64 * 1024)
        app.router.add_get("/", self.listing)
        app.router.add_get("/c/{id:[0-9]{1,18}}", self.conversation)
        app.router.add_get("/figures", self.live_figures)
        app.router.add_post("/c/{id:[0-9]{1,18}}/case", self.make_case)
        app.router.add_get("/c/{id:[0-9]{1,18}}/case/{draft:[0-9]{1,18}}", self.case_page)
        app.router.add_get("/c/{id:[0-9]{1,18}}/case/{draft:[0-9]{1,18}}/case.toml",
                           self.case_download)
        app.router.add_post("/c/{id:[0-9]{1,18}}/verdict", self.give_verdict)
        app.router.add_get("/agreement", self.judge_against_people)
        self.signin.add_routes(app.router)
        app.router.add_static("/static/", HERE / "static", append_version=False)
        server.router.add_get(self.path, self._to_root)
        server.add_subapp(self.path, app)

    async def _to_root(self, request: web.Request) -> web.StreamResponse:
        raise web.HTTPFound(f"{self.path}/", headers=HEADERS)

    # -- the pages -------------------------------------------------------------------------

    async def listing(self, request: web.Request) -> web.StreamResponse:
        signed = await self.pages.signed(request)
        if signed is None:
            return self.pages.sign_in()
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
        return self.pages.page("list.html", signed=signed, filters=filters, found=found,
                               days={k: urlencode(v) for k, v in days.items()},
                               pages={k: urlencode(v) if v else "" for k, v in pages.items()},
                               desk=self.facts is not None, here=urlencode(filters.query()))

    async def conversation(self, request: web.Request) -> web.StreamResponse:
        signed = await self.pages.signed(request)
        if signed is None:
            return self.pages.sign_in()
        conversation_id = int(request.match_info["id"])
        async with self.sessionmaker() as session:
            shown = await transcript(session, conversation_id, self.facts, self.notes)
            verdict = await verdict_of(session, conversation_id)
            await session.commit()
        if shown is None:
            raise web.HTTPNotFound(text="No such conversation (erased, or never stored).")
        await self.pages.audit(signed, "read", f"conversation {conversation_id}")
        back = request.query.get("back", "")
        return self.pages.page("conversation.html", signed=signed, c=shown,
                               back=back if back.startswith("day=") else "",
                               cases=self.drafting is not None, verdict=verdict,
                               verdicts=self.scored is not None)

    async def give_verdict(self, request: web.Request) -> web.StreamResponse:
        """The lead's own verdict on a conversation (resolved or not)."""
        signed = await self.pages.signed(request)
        if signed is None:
            return self.pages.sign_in()
        await self.pages.check_csrf(request, signed)
        resolved = {"yes": True, "no": False}.get(str((await request.post()).get("resolved")))
        if resolved is None:
            raise web.HTTPBadRequest(text="Say resolved yes or no.")
        conversation_id = int(request.match_info["id"])
        async with self.sessionmaker() as session:
            if await session.get(Conversation, conversation_id) is None:
                raise web.HTTPNotFound(text="No such conversation.")
            await set_verdict(session, conversation_id, signed.user_id, resolved)
            await session.commit()
        await self.pages.audit(signed, "verdict",
                               f"conversation {conversation_id}: "
                               f"{'resolved' if resolved else 'not resolved'}")
        raise web.HTTPSeeOther(f"{self.path}/c/{conversation_id}")

    async def judge_against_people(self, request: web.Request) -> web.StreamResponse:
        signed = await self.pages.signed(request)
        if signed is None:
            return self.pages.sign_in()
        weeks = {"4": 4, "8": 8, "26": 26}.get(request.query.get("weeks", ""), 8)
        found = None
        if self.scored is not None:
            async with self.sessionmaker() as session:
                found = await agreement(session, self.scored, self.facts, weeks,
                                        utcnow().date())
                await session.commit()
        return self.pages.page("agreement.html", signed=signed, a=found, weeks=weeks)

    async def make_case(self, request: web.Request) -> web.StreamResponse:
        """Store the request and answer at once with its page; the drafting runs in the
        background (drafting.py). A draft of the conversation under way is shown instead of
        starting another."""
        signed = await self.pages.signed(request)
        if signed is None:
            return self.pages.sign_in()
        await self.pages.check_csrf(request, signed)
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
            await self.pages.audit(signed, "eval case asked",
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
        signed = await self.pages.signed(request)
        if signed is None:
            return self.pages.sign_in()
        draft = await self._draft_of(request)
        working = draft.status in (DraftStatus.PENDING.value, DraftStatus.RUNNING.value)
        written = Path(draft.written) if draft.written else None
        return self.pages.page("case.html", signed=signed, d=draft, working=working,
                               written=written, refresh=REFRESH if working else 0)

    async def case_download(self, request: web.Request) -> web.StreamResponse:
        signed = await self.pages.signed(request)
        if signed is None:
            return self.pages.sign_in()
        draft = await self._draft_of(request)
        if draft.status != DraftStatus.DONE.value:
            raise web.HTTPNotFound(text="This eval case is not made (yet).")
        return web.Response(
            text=draft.case_text, content_type="application/toml", charset="utf-8",
            headers={"Content-Disposition":
                     f'attachment; filename="case-{draft.conversation_id}.toml"'})

    async def live_figures(self, request: web.Request) -> web.StreamResponse:
        signed = await self.pages.signed(request)
        if signed is None:
            return self.pages.sign_in()
        days = Figures.period(request.query.get("days"))
        shown = await self.figures.read(days, utcnow().date())
        return self.pages.page("figures.html", signed=signed, f=shown, days=days,
                               periods=Figures.PERIODS)
