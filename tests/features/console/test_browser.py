"""The console in a real browser (issue 80): Playwright driving Debian's Chromium signs in
with the one-time link, filters to the handed-off conversation, opens it and sees a passage's
score and a tool call in its trace, presses "make an eval case"; a second browser without the
session gets the sign-in page; the used link is refused; a customer's HTML shows as text.
With FMBOT_CONSOLE_SHOTS=1 the screenshots are written to docs/img/ for docs/console.md (the
suite never rewrites the docs on its own)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from bot.testing import ScriptedModel, read_cases
from tests.browser import CHROMIUM
from tests.conftest import REPO_ROOT
from tests.features.console.world import HTML, console_world

pytestmark = [
    pytest.mark.timeout(180),
    pytest.mark.skipif(CHROMIUM is None, reason="no browser: Debian's chromium is not "
                       "installed (apt-get install chromium); Playwright never downloads one"),
]
playwright = pytest.importorskip("playwright.async_api", reason="playwright is not installed "
                                 "(pip install -e '.[dev]')")
SHOTS = REPO_ROOT / "docs" / "img"


def shots_wanted() -> bool:
    return os.environ.get("FMBOT_CONSOLE_SHOTS") == "1"


async def test_the_lead_finds_why_the_bot_answered_in_a_browser(tmp_path: Path) -> None:
    async with console_world(tmp_path) as w, playwright.async_playwright() as p:
        assert CHROMIUM is not None
        browser = await p.chromium.launch(executable_path=CHROMIUM,
                                          args=["--no-sandbox", "--disable-gpu"])
        try:
            lead = await browser.new_context(viewport={"width": 1280, "height": 900})
            page = await lead.new_page()
            errors: list[str] = []
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            link = await w.sign_in_link()
            await page.goto(link)
            await page.click("#sign-in-button")
            await page.wait_for_selector("#filters")
            assert await page.text_content("#count") == "2 conversations"

            await page.select_option("select[name=handed_off]", "yes")
            await page.click("#filters button[type=submit]")
            await page.wait_for_url("**handed_off=yes**")
            assert await page.text_content("#count") == "1 conversation"
            row = page.locator("#conversations .row")
            assert "Anna" in await row.text_content()
            if shots_wanted():
                await page.screenshot(path=str(SHOTS / "console-list.png"))
            await row.locator("a.open").click()
            await page.wait_for_selector("#transcript")

            trace = page.locator(".trace").filter(has_text="Knowledge base").first
            score = await trace.locator("td.score").first.text_content()
            assert score is not None
            assert float(score) > 0
            assert "KB_MIN_SCORE" in (await trace.text_content() or "")
            call = page.locator(".call").first
            assert await call.locator(".tool-name").text_content() == "order_status"
            assert '"order_id": "A-1042"' in (await call.locator(".arguments").text_content()
                                               or "")
            if shots_wanted():
                await page.screenshot(path=str(SHOTS / "console-conversation.png"),
                                      full_page=True)

            # One press makes an eval case of it, in EVAL_CASES_FILE (run by `fmbot eval`:
            # test_console.py runs it against the test kit's models): the press answers at
            # once with the draft's page, which reloads itself (no script) until it is made.
            await page.click("#make-case summary")
            await page.click("#make-case-button")
            await page.wait_for_url("**/case/*")
            await page.wait_for_selector("#case-toml", timeout=60_000)
            assert (await page.text_content("#case-toml") or "").startswith("[[case]]")
            assert (tmp_path / "from-console.toml").read_text().count("[[case]]") == 1
            # The written case runs with the eval runner: a simulated customer against the
            # same bot, its tool answered by the case's stub, then judged.
            cases = read_cases(tmp_path / "from-console.toml")
            [case] = cases.case
            customer = ScriptedModel()
            customer.when(lambda r: "Mira" in r.system).answer(
                lambda r: "When does my order A-1042 arrive?" if "chat is open" in r.question
                else "/operator")
            judge = ScriptedModel(otherwise=json.dumps({
                "criteria": [{"holds": True, "line": 2, "evidence": "the bot's answer"}],
                "must_not": [], "resolved": True, "resolved_line": 2, "handed_off": True,
                "handed_off_line": 3}))
            run = await w.tester.simulate(cases.named(case.name), customer=customer,
                                          judge=judge)
            assert run.passed, run.failures()

            # Boris's HTML is shown as he wrote it: text, no element made of it.
            await page.goto(f"{w.console}/?q=onerror")
            await page.locator("#conversations a.open").click()
            await page.wait_for_selector("#transcript")
            texts = await page.locator(".turn.customer .text").all_text_contents()
            assert HTML in texts
            assert await page.locator("#transcript img, #transcript script").count() == 0

            # The live figures: charts drawn on the server, scaled by the stylesheet.
            await page.click("nav.sections >> text=Figures")
            await page.wait_for_selector("#charts svg#answers")
            assert await page.locator("#charts svg").count() == 7
            if shots_wanted():
                await page.screenshot(path=str(SHOTS / "console-figures.png"), full_page=True)
            assert errors == []  # nothing blocked by the policy, no script to fail

            # A second browser, without the session: the sign-in page; the link is used up.
            stranger = await (await browser.new_context()).new_page()
            await stranger.goto(f"{w.console}/")
            assert await stranger.locator("#sign-in h1").text_content() == "Sign in"
            await stranger.goto(link)
            assert "cannot be used" in (await stranger.locator("#refused h1").text_content()
                                        or "")

            # On a phone: the same page, no sideways scroll.
            phone = await browser.new_context(viewport={"width": 390, "height": 844},
                                              storage_state=await lead.storage_state())
            small = await phone.new_page()
            await small.goto(f"{w.console}/?handed_off=yes")
            width = await small.evaluate("document.documentElement.scrollWidth")
            assert width <= 390
        finally:
            await browser.close()
