"""The console over HTTP (issue 80): an admin's one-time link opens a session once; the list
filters a day's conversations; a conversation shows each answer's trace; every page is
escaped, framed by a strict CSP, and every POST needs its CSRF token."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from urllib.parse import urlsplit

import aiohttp
import pytest

from bot.features.console.pages import COOKIE
from tests.features.console.world import HTML, World, console_world
from tests.features.sending import rows

pytestmark = [pytest.mark.timeout(120)]


def browser() -> aiohttp.ClientSession:
    """An HTTP client that keeps cookies as a browser does for 127.0.0.1 (aiohttp's jar
    refuses an IP address's cookies unless told)."""
    return aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))


def hidden(page: str, name: str) -> str:
    marker = f'name="{name}" value="'
    start = page.index(marker) + len(marker)
    return page[start:page.index('"', start)]


async def drafted(http: aiohttp.ClientSession, url: str) -> str:
    """The draft's page once it is made or failed, reloaded as its meta refresh does."""
    for _ in range(600):
        page = await (await http.get(url)).text()
        if 'http-equiv="refresh"' not in page:
            return page
        assert 'id="drafting"' in page
        await asyncio.sleep(0.1)
    raise AssertionError(f"{url} still drafting")


async def sign_in(http: aiohttp.ClientSession, link: str) -> aiohttp.ClientResponse:
    confirm = await http.get(link)
    page = await confirm.text()
    assert confirm.status == 200, page
    return await http.post(link.split("?")[0], data={
        "t": hidden(page, "t"), "nonce": hidden(page, "nonce")})


async def test_an_admin_signs_in_once_and_reads_a_conversations_trace(tmp_path: Path) -> None:
    async with console_world(tmp_path) as w, browser() as http:
        link = await w.sign_in_link()
        assert link.startswith(f"{w.console}/login?t=")
        # Without a session: the sign-in page, under the strict policy.
        bare = await http.get(f"{w.console}/")
        assert bare.status == 401
        assert "Send <code>/console</code>" in await bare.text()
        csp = bare.headers["Content-Security-Policy"]
        assert "default-src 'none'" in csp
        assert "script-src" not in csp  # none: no script runs, inline or not
        assert bare.headers["X-Frame-Options"] == "DENY"

        signed = await sign_in(http, link)
        assert signed.status == 200
        assert str(signed.url) == f"{w.console}/"
        cookie = next(c for c in http.cookie_jar if c.key == COOKIE)
        assert cookie["httponly"]
        assert cookie["samesite"] == "Strict"
        assert cookie["path"] == "/console"
        listing = await signed.text()
        assert "2 conversations" in listing  # Anna's and Boris's (a command is none)

        handed = await http.get(f"{w.console}/", params={"handed_off": "yes"})
        page = await handed.text()
        assert "1 conversation<" in page
        assert "handed off" in page
        assert "tool order_status" in page
        href = page[page.index('href="/console/c/'):].split('"')[1]

        conversation = await http.get(f"{w.base}{href}")
        shown = await conversation.text()
        assert conversation.status == 200
        assert "When does my order A-1042 arrive?" in shown
        assert '<code class="tool-name">order_status</code>' in shown
        assert "&#34;order_id&#34;: &#34;A-1042&#34;" in shown  # the arguments, as data
        assert "KB_MIN_SCORE" in shown
        assert 'class="score">0.' in shown  # a passage's score
        # The operator's internal note, before her reply, escaped as all the rest.
        note = shown.index('class="turn note"')
        assert note < shown.index('class="turn operator"')
        assert "&lt;i&gt;check&lt;/i&gt; the warehouse first" in shown[note:]

        # Boris's HTML is text, never markup.
        boris = await http.get(f"{w.console}/", params={"q": "onerror"})
        boris_page = await boris.text()
        assert "1 conversation<" in boris_page
        assert "<script>" not in boris_page
        assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in boris_page
        href = boris_page[boris_page.index('href="/console/c/'):].split('"')[1]
        transcript = await (await http.get(f"{w.base}{href}")).text()
        assert HTML not in transcript
        assert "&lt;img src=x onerror=alert(1)&gt;" in transcript

        audit = await rows(w.tester, "SELECT action, user_id FROM console_audit ORDER BY id")
        assert [a["action"] for a in audit] == ["link", "signed in", "read", "read"]


async def test_a_link_is_used_once_and_only_admins_get_one(tmp_path: Path) -> None:
    async with console_world(tmp_path) as w:
        link = await w.sign_in_link()
        async with browser() as first:
            assert (await sign_in(first, link)).status == 200
        async with browser() as second:
            again = await second.get(link)
            assert again.status == 403
            assert "cannot be used" in await again.text()
            forged = await second.get(link[:-3] + "abc")
            assert forged.status == 403
        refused = await w.tester.user("Carl").says("/console")
        assert "admins only" in refused.text
        assert not refused.messages[-1].buttons


async def test_every_post_needs_its_csrf_token(tmp_path: Path) -> None:
    async with console_world(tmp_path) as w, browser() as http:
        await sign_in(http, await w.sign_in_link())
        page = await (await http.get(f"{w.console}/")).text()
        forged = await http.post(f"{w.console}/logout", data={"csrf": "guess"})
        assert forged.status == 403
        other_site = await http.post(f"{w.console}/logout", data={"csrf": hidden(page, "csrf")},
                                     headers={"Origin": "https://evil.example"})
        assert other_site.status == 403
        out = await http.post(f"{w.console}/logout", data={"csrf": hidden(page, "csrf")})
        assert out.status == 401  # signed out: the sign-in page
        assert (await http.get(f"{w.console}/")).status == 401
        actions = [a["action"] for a in await rows(
            w.tester, "SELECT action FROM console_audit ORDER BY id")]
        assert actions.count("refused") == 2
        assert actions[-1] == "signed out"


async def test_a_login_without_its_nonce_is_refused(tmp_path: Path) -> None:
    """A page elsewhere cannot sign a browser into someone's session: the form's nonce must
    match the cookie the link's own page set."""
    async with console_world(tmp_path) as w, browser() as http:
        link = await w.sign_in_link()
        token = dict(p.split("=", 1) for p in urlsplit(link).query.split("&"))["t"]
        posted = await http.post(f"{w.console}/login", data={"t": token, "nonce": "x"})
        assert posted.status == 403


async def test_a_port_in_use_stops_the_start_with_one_line(tmp_path: Path) -> None:
    import socket

    from bot import App
    from bot.plugin.config import ConfigError
    from bot.testing import BotTester, ScriptedModel
    from tests.ports import free_port

    port = free_port()
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", port))
        taken.listen()
        settings = {"CONSOLE": "on", "WEB_LISTEN": f"127.0.0.1:{port}",
                    "PUBLIC_URL": "https://support.example.com", "ADMIN_USER_IDS": "7001"}
        with pytest.raises(ConfigError, match=(
                rf"^WEB_LISTEN=127.0.0.1:{port}: cannot listen there "
                r"\(the address is in use by another program\)$")):
            async with BotTester(App(env_file=None), model=ScriptedModel(),
                                 settings=settings, real_time=True):
                pass


async def test_the_console_needs_its_settings() -> None:
    from bot import App
    from bot.plugin.config import ConfigError
    from bot.testing import BotTester, ScriptedModel

    with pytest.raises(ConfigError, match="CONSOLE=on needs PUBLIC_URL") as refused:
        async with BotTester(App(env_file=None), model=ScriptedModel(),
                             settings={"CONSOLE": "on"}):
            pass
    assert "WEB_LISTEN" in str(refused.value)
    assert "ADMIN_USER_IDS" in str(refused.value)


async def test_console_in_a_group_is_refused(tmp_path: Path) -> None:
    async with console_world(tmp_path) as w:
        group = w.tester.group("Team")
        refused = await group.says(w.lead, "/console")
    assert "private chat" in refused.text
    assert not any(m.buttons for m in refused.messages)


async def test_the_live_figures_chart_today_from_the_desk_and_the_traces(
    tmp_path: Path,
) -> None:
    async with console_world(tmp_path) as w, browser() as http:
        await sign_in(http, await w.sign_in_link())
        figures = await http.get(f"{w.console}/figures", params={"days": "7"})
        page = await figures.text()
        assert figures.status == 200
        for title in ("Conversations", "Handed to a person", "Verified resolution",
                      "CSAT (1-5)", "Mean score (1-5)", "Answers", "&#34;Not found&#34; answers"):
            assert f"<h2>{title} <span" in page or f"<h2>{title}</h2>" in page, title
        assert "style=" not in page  # the policy allows no inline style: the CSS scales them
        today = page.split('id="answers"')[1].split("</svg>")[0]
        assert today.count('class="column"') == 7
        assert today.rsplit('class="column"', 1)[1].split('data-value="')[1].startswith("3.")
        handed = page.split('id="handed-to-a-person"')[1].split("</svg>")[0]
        assert handed.rsplit('class="column"', 1)[1].split('data-value="')[1].startswith("1.")
        assert 'id="gaps"' in page
        default = await (await http.get(f"{w.console}/figures", params={"days": "999"})).text()
        assert "<b>14 days</b>" in default  # a period not offered: the default


async def test_a_conversation_becomes_an_eval_case_fmbot_eval_runs(tmp_path: Path) -> None:
    import json

    from bot.testing import ScriptedModel, read_cases

    async with console_world(tmp_path) as w, browser() as http:
        await sign_in(http, await w.sign_in_link())
        page = await (await http.get(f"{w.console}/?handed_off=yes")).text()
        href = page[page.index('href="/console/c/'):].split('"')[1].split("?")[0]
        shown = await (await http.get(f"{w.base}{href}")).text()
        made = await http.post(f"{w.base}{href}/case",
                               data={"csrf": hidden(shown, "csrf"), "criteria": ""})
        assert made.status == 200, await made.text()  # at once: the draft's own page
        result = await drafted(http, str(made.url))
        assert "fmbot eval from-console.toml" in result
        cases = read_cases(tmp_path / "from-console.toml")  # `fmbot eval`'s own parser
        [case] = cases.case
        assert case.persona == "Mira, polite, writes short messages in English"
        assert case.facts == ("the order number is A-1042",)
        assert case.criteria == ("does what the operator did: Hello Anna, I am checking with "
                                 "the warehouse now.",)
        assert case.handoff is True
        assert "2026-06-12" in case.stubs(cases.tools)["order_status"]
        forged = await http.post(f"{w.base}{href}/case", data={"csrf": "x"})
        assert forged.status == 403

        # The case runs unchanged: a simulated customer against the same bot, its tool
        # answered by the case's stub, then judged.
        customer = ScriptedModel()
        customer.when(lambda r: "Mira" in r.system).answer(
            lambda r: "When does my order A-1042 arrive?" if "chat is open" in r.question
            else "/operator")
        judge = ScriptedModel(otherwise=json.dumps({
            "criteria": [{"holds": True, "line": 2, "evidence": "the bot's answer"}],
            "must_not": [], "resolved": True, "resolved_line": 2, "handed_off": True,
            "handed_off_line": 3}))
        run = await w.tester.simulate(cases.named(case.name), customer=customer, judge=judge)
        assert run.passed, run.failures()
        assert [(use.name, use.stubbed) for use in run.tools] == [("order_status", True)]
        audit = await rows(w.tester, "SELECT detail FROM console_audit "
                                     "WHERE action = 'eval case'")
        assert audit == [{"detail": f"from conversation {href.rsplit('/', 1)[1]} into "
                                    "from-console.toml"}]


async def test_without_a_cases_file_the_case_is_downloaded(tmp_path: Path) -> None:
    async with console_world(tmp_path, cases_file=False) as w, browser() as http:
        await sign_in(http, await w.sign_in_link())
        page = await (await http.get(f"{w.console}/?handed_off=yes")).text()
        href = page[page.index('href="/console/c/'):].split('"')[1].split("?")[0]
        shown = await (await http.get(f"{w.base}{href}")).text()
        made = await http.post(f"{w.base}{href}/case", data={
            "csrf": hidden(shown, "csrf"), "criteria": "says when the order arrives\n\n"})
        assert made.status == 200
        page = await drafted(http, str(made.url))
        link = page[page.index('id="case-download" href="'):].split('"')[3]
        download = await http.get(f"{w.base}{link}")
        assert download.headers["Content-Disposition"].startswith(
            "attachment; filename=\"case-")
        case = await download.text()
    assert case.startswith("[[case]]\n")
    assert 'criteria = ["says when the order arrives"]' in case
    assert not (tmp_path / "from-console.toml").exists()


async def test_the_judge_against_people_lists_disagreements_and_the_weekly_rate(
    tmp_path: Path,
) -> None:
    from sqlalchemy import update

    from bot.features.desk.storage.insights_models import DeskScore, ScoreStatus
    from bot.features.desk.storage.models import DeskCase

    async with console_world(tmp_path) as w, browser() as http:
        # The scorer read Anna's conversation as resolved; she rated the help 1.
        async with w.tester.built.core.db.sessionmaker() as session:
            [case_id] = [row["id"] for row in await rows(
                w.tester, f"SELECT id FROM desk_cases WHERE user_id = {w.anna.id}")]
            session.add(DeskScore(case_id=case_id, status=ScoreStatus.SCORED, resolved=True,
                                  score=4, evidence_line=3, evidence="Hello Anna, I am checking"))
            await session.execute(update(DeskCase).where(DeskCase.id == case_id)
                                  .values(csat_score=1))
            await session.commit()
        await sign_in(http, await w.sign_in_link())
        page = await (await http.get(f"{w.console}/?handed_off=yes")).text()
        href = page[page.index('href="/console/c/'):].split('"')[1].split("?")[0]
        shown = await (await http.get(f"{w.base}{href}")).text()
        # The lead says it was not resolved either.
        given = await http.post(f"{w.base}{href}/verdict",
                                data={"csrf": hidden(shown, "csrf"), "resolved": "no"})
        assert "Your verdict: <b>not resolved</b>" in await given.text()
        forged = await http.post(f"{w.base}{href}/verdict",
                                 data={"csrf": "x", "resolved": "yes"})
        assert forged.status == 403

        listed = await (await http.get(f"{w.console}/agreement")).text()
    disagreements = listed.split('id="disagreements"')[1]
    assert "Where they disagree (2)" in disagreements
    assert "rated it 1 of 5" in disagreements
    assert "<td>lead</td><td>not resolved</td><td>resolved, score 4/5</td>" in disagreements
    assert f'href="{href}"' in disagreements
    weeks = listed.split('id="weeks"')[1].split("</table>")[0]
    this_week = weeks.split("</tr>")[-2]  # the last row: this week
    assert '<td class="score">2</td><td class="score">0</td><td class="score">0%</td>' \
        in this_week


async def test_the_list_filters_by_the_desks_intent_tag(tmp_path: Path) -> None:
    from bot.features.desk.storage.insights_models import DeskInsight

    async with console_world(tmp_path) as w, browser() as http:
        [case] = await rows(w.tester, f"SELECT id FROM desk_cases WHERE user_id = {w.anna.id}")
        async with w.tester.built.core.db.sessionmaker() as session:
            session.add(DeskInsight(case_id=case["id"], intent="order_status"))
            await session.commit()
        await sign_in(http, await w.sign_in_link())
        tagged = await (await http.get(f"{w.console}/", params={"intent": "Order_Status"})).text()
        other = await (await http.get(f"{w.console}/", params={"intent": "refund"})).text()
    assert "1 conversation<" in tagged
    assert "intent order_status" in tagged
    assert "0 conversations" in other


async def test_in_webhook_mode_the_webhooks_server_serves_the_console(tmp_path: Path) -> None:
    """TELEGRAM_MODE=webhook: no server of the console's own (WEB_LISTEN is not read); its
    pages are what the feature adds to the webhook's server, served here as run_webhook
    serves them."""
    from aiohttp import web

    from tests.ports import free_port

    port = free_port()
    webhook = {"TELEGRAM_MODE": "webhook", "TELEGRAM_WEBHOOK_URL": "https://bot.example.org/hook",
               "TELEGRAM_WEBHOOK_SECRET": "s3cret-token", "WEB_LISTEN": ""}
    async with console_world(tmp_path, settings=webhook, port=port) as w, browser() as http:
        server = web.Application()
        for add in w.tester.built.telegram.web_routes:
            add(server)
        runner = web.AppRunner(server)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", port).start()
        try:
            assert (await http.get(f"{w.console}/")).status == 401
            signed = await sign_in(http, await w.sign_in_link())
            assert signed.status == 200
            assert "2 conversations" in await signed.text()
        finally:
            await runner.cleanup()


async def test_the_handoff_rule_is_in_the_trace_of_the_answer_it_followed(
    tmp_path: Path,
) -> None:
    """The desk hands Anna over after her second answer (she sent /operator): the rule
    that fired goes into that answer's stored trace, tagged, and the page shows it."""
    async with console_world(tmp_path) as w, browser() as http:
        [before, last] = await rows(w.tester, (
            "SELECT m.id FROM messages m JOIN conversations c ON c.id = m.conversation_id "
            f"WHERE c.chat_id = {w.anna.id} AND m.role = 'assistant' "
            "AND m.author_name IS NULL ORDER BY m.id"))  # the bot's, not Olga's
        [traced] = await rows(w.tester, "SELECT answer_id, data, tags FROM answer_traces "
                                        "WHERE tags LIKE '%handoff:%'")
        assert traced["answer_id"] == last["id"]
        assert "\nhandoff:user_request\n" in traced["tags"]
        entry = json.loads(traced["data"])
        assert entry["handoff"] == {"rules": ["handoff: the user asked for a person"],
                                    "trigger": "user_request"}
        assert "knowledge" in entry  # what the turn stored is kept beside it
        await sign_in(http, await w.sign_in_link())
        shown = await (await http.get(f"{w.console}/c/{await _anna(w)}")).text()
        answer = shown.split(f'id="m{last["id"]}"')[1].split('<li class="turn')[0]
        rules = answer.split('<ul class="rules">')[1].split("</ul>")[0]
        assert "<li>handoff: the user asked for a person</li>" in rules
        earlier = shown.split(f'id="m{before["id"]}"')[1].split('<li class="turn')[0]
        assert "handoff:" not in earlier


async def _anna(w: World) -> int:
    [row] = await rows(w.tester, f"SELECT id FROM conversations WHERE chat_id = {w.anna.id}")
    return int(row["id"])
