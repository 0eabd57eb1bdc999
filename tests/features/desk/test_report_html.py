"""`fmbot report --html FILE` (issue 66): the desk's figures as one self-contained page, with
its charts per day and the worst-scored conversation. Read with the standard library's HTML
parser (always), and opened in a real headless browser (Debian's chromium) where one is
installed."""

from __future__ import annotations

from html.parser import HTMLParser
from pathlib import Path

import pytest

from bot import App
from bot.app import parts_of
from bot.cli.dispatch import parser
from bot.cli.factory import Factory
from bot.cli.report import run
from bot.storage.database import Database
from bot.testing.tester import run_settings
from tests.browser import needs_chromium, render
from tests.features.desk.harness import OPERATOR, SUPPORT, desk_world
from tests.features.desk.scoring import a_day_later, cases_of, eventually, scores

pytestmark = pytest.mark.timeout(120)
PROMISE = "I will refund you <script>alert(1)</script> today, no questions asked."
CHARTS = ["volume", "resolution", "csat", "scores"]


class Page(HTMLParser):
    """What a page holds: its tags, what it would load from elsewhere, its charts' columns,
    the worst conversations' rows, its links and its text."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.external: list[str] = []
        self.svgs: list[str] = []
        self.columns: dict[str, list[dict[str, str]]] = {}
        self.rows: list[dict[str, str]] = []
        self.links: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k: v or "" for k, v in attrs}
        self.tags.append(tag)
        if tag == "script" or (tag == "link" and values.get("href")):
            self.external.append(f"{tag} {values}")
        if values.get("src", "").startswith(("http:", "https:", "//")):
            self.external.append(values["src"])
        if tag == "svg":
            self.svgs.append(values.get("id", ""))
        if tag == "g" and values.get("class") == "column":
            self.columns.setdefault(self.svgs[-1], []).append(values)
        if tag == "tr" and "data-case" in values:
            self.rows.append(values)
        if tag == "a":
            self.links.append(values.get("href", ""))

    def handle_data(self, data: str) -> None:
        if data.strip():
            self.text.append(data.strip())


async def scored_desk(db: Database) -> tuple[int, int]:
    """A conversation an operator closed after promising a refund (the worst), and one the
    bot resolved alone, both scored: (the worst's case id, its topic's thread)."""
    async with desk_world(db, insights="yandexgpt/latest") as w:
        user = 8301
        w.tg.send_user_message(user, "My kettle <b>broke</b>")
        await w.wait_for(lambda: w.texts(user))
        await w.settle()
        w.tg.send_user_message(user, "/operator")
        thread = await w.wait_for(lambda: w.topic_of(user))
        await w.wait_for(lambda: w.in_topic(thread))
        w.tg.send_user_message(SUPPORT, PROMISE, user=OPERATOR, thread_id=thread)
        await w.wait_for(lambda: PROMISE in w.texts(user))
        rate, _ = await w.close_for_rating(user, thread)
        w.tg.send_callback_query(user, rate.message_id, rate.reply_markup[  # type: ignore[index]
            "inline_keyboard"][0][1]["callback_data"])  # a rating of 2
        await w.wait_for(lambda: any("rated" in t for t in w.texts(user)))
        [worst] = await cases_of(w.db, user)
        await eventually(lambda: _has_score(w.db, worst.id))
        other = 8302
        w.tg.send_user_message(other, "How do I change my delivery address?")
        await w.wait_for(lambda: w.texts(other))
        await w.settle()
        await a_day_later(w)
        assert len(await scores(w.db)) == 2
    return worst.id, thread


async def _has_score(db: Database, case_id: int) -> bool:
    return case_id in await scores(db)


async def report_html(tmp_path: Path, sqlite_url: str, db: Database, *args: str
                      ) -> tuple[str, int, int]:
    worst, thread = await scored_desk(db)
    out = tmp_path / "desk.html"
    settings = run_settings(tmp_path, {"DATABASE_URL": sqlite_url,
                                       "SUPPORT_CHAT_ID": str(SUPPORT)})
    factory = Factory(parts_of(App(env_file=None)), settings)
    assert await run(factory, parser().parse_args(["report", "--html", str(out), *args])) == 0
    return out.read_text(encoding="utf-8"), worst, thread


@pytest.mark.slow
async def test_report_html_is_one_page_with_the_charts_and_the_worst_conversation(
    tmp_path: Path, sqlite_url: str, sqlite_database: Database,
    capsys: pytest.CaptureFixture[str],
) -> None:
    html, worst, thread = await report_html(tmp_path, sqlite_url, sqlite_database)
    assert f"the support desk's page written to {tmp_path / 'desk.html'}" in (
        capsys.readouterr().out)
    page = Page()
    page.feed(html)
    assert page.external == []  # nothing loaded from anywhere: no script, no stylesheet link
    assert "style" in page.tags
    assert page.svgs == CHARTS
    # A column per day of the period; the days with conversations carry their figures (two
    # conversations, one a verified resolution, one rating of 2, scores of 1 and 5).
    assert all(len(page.columns[name]) == 8 for name in CHARTS)  # --days 7: 8 dates
    values = {name: [float(c["data-value"]) for c in page.columns[name] if c["data-value"]]
              for name in CHARTS}
    assert sum(values["volume"]) == 2
    assert values["resolution"]  # the day's verified rate (no column where none was scored)
    assert values["csat"] == [2.0]
    assert values["scores"]
    assert page.columns["resolution"][0]["data-value"] == ""
    # The worst-scored conversation first, with its evidence and its topic's link.
    assert (page.rows[0]["data-case"], page.rows[0]["data-score"]) == (str(worst), "1")
    assert f"https://t.me/c/{str(SUPPORT)[4:]}/{thread}" in page.links
    text = " ".join(page.text)
    assert "promised a refund" in text
    assert "operator: I will refund you <script>alert(1)</script> today" in text
    # Conversation text is escaped: the user's and the operator's markup stays text.
    assert "<script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    # Over the conversations that could be verified: the one a person took is apart.
    assert "Verified resolution: 1 of 1 scored conversations with the bot alone (100%)" in text


@needs_chromium
async def test_report_html_renders_in_a_headless_browser(
    tmp_path: Path, sqlite_url: str, sqlite_database: Database,
) -> None:
    _, worst, _ = await report_html(tmp_path, sqlite_url, sqlite_database)
    dom, shot = await render(tmp_path / "desk.html", tmp_path)
    page = Page()
    page.feed(dom)
    assert page.svgs == CHARTS
    assert "<rect" in dom
    assert page.rows[0]["data-case"] == str(worst)
    assert page.external == []  # the browser ran no script the page carried
    assert shot[:8] == b"\x89PNG\r\n\x1a\n"


# Run in the browser on a copy of the page (the page itself carries no script): for each chart,
# whether its newest day's column lies inside the chart's panel and the window.
_WHERE_IS_TODAY = """<script>
const seen = [];
for (const svg of document.querySelectorAll("svg")) {
  const days = svg.querySelectorAll("g.column");
  if (!days.length) continue;
  const today = days[days.length - 1].getBoundingClientRect();
  const panel = svg.closest(".panel").getBoundingClientRect();
  const inside = today.width > 0 && today.left >= panel.left && today.right <= panel.right
    && today.right <= window.innerWidth;
  seen.push(svg.id + "=" + (inside ? "visible" : "hidden"));
}
document.body.setAttribute("data-today", seen.join(","));
</script>"""


@needs_chromium
@pytest.mark.parametrize("width", [1280, 1920])
async def test_todays_column_is_visible_in_every_chart_at_desktop_widths(
    tmp_path: Path, sqlite_url: str, sqlite_database: Database, width: int,
) -> None:
    """A month's report on day one: the only day with data is the newest, and it must show
    without scrolling (each chart used to be wider than its panel, today hidden on the
    right behind a scrollbar)."""
    html, _, _ = await report_html(tmp_path, sqlite_url, sqlite_database, "--days", "30")
    probe = tmp_path / "probe.html"
    probe.write_text(html.replace("</body>", _WHERE_IS_TODAY + "</body>"), encoding="utf-8")
    dom, _ = await render(probe, tmp_path, size=f"{width},900")
    found = dom.split('data-today="', 1)[1].split('"', 1)[0]
    assert found == ",".join(f"{chart}=visible" for chart in CHARTS)
