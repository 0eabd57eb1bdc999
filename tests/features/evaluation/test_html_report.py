"""`fmbot eval --report FILE.html`: the page a lead opens. Read with the standard library's
HTML parser (always), and opened in a real headless browser (Debian's chromium) where one is
installed."""

from __future__ import annotations

from html.parser import HTMLParser
from pathlib import Path

import pytest

from bot.testing import ScriptedModel
from tests.browser import needs_chromium, render
from tests.features.evaluation.scripted import Models, bot_model, customer_model, judge_model
from tests.features.evaluation.test_eval import evaluate, half_and_whole

pytestmark = [pytest.mark.timeout(120)]



class Page(HTMLParser):
    """What a page holds: its tags, the external resources it would load, the text of the
    failures' section and of the chart."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.external: list[str] = []
        self.bars: list[dict[str, str]] = []
        self.sections: list[dict[str, str]] = []
        self.text: list[str] = []
        self._in: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k: v or "" for k, v in attrs}
        self.tags.append(tag)
        if tag == "script" or (tag == "link" and values.get("href")):
            self.external.append(f"{tag} {values}")
        for key in ("src", "href"):
            if values.get(key, "").startswith(("http:", "https:", "//")):
                self.external.append(values[key])
        if tag == "g" and "data-pass-rate" in values:
            self.bars.append(values)
        if tag == "section":
            self.sections.append(values)

    def handle_data(self, data: str) -> None:
        if data.strip():
            self.text.append(data.strip())


async def report(tmp_path: Path) -> tuple[Path, str]:
    page = tmp_path / "report.html"
    models = Models(bot_model(), customer_model(), judge_model())
    status, _ = await evaluate(tmp_path, models, "--report", str(page), "--min-pass", "0.5")
    assert status == 0
    return page, page.read_text(encoding="utf-8")


async def test_the_report_is_one_page_with_the_chart_and_the_failures_first(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path, html = await report(tmp_path)
    assert f"the report is in {path}" in capsys.readouterr().out
    page = Page()
    page.feed(html)
    assert page.external == []  # nothing loaded from anywhere: no script, no stylesheet link
    assert "style" in page.tags
    assert "svg" in page.tags
    assert [(b["data-case"], b["data-pass-rate"]) for b in page.bars] == [
        ("order status", "1.0000"), ("broken blender", "0.0000")]
    # The failing run first, then the passing one.
    assert [(s["data-case"], s["class"]) for s in page.sections] == [
        ("broken blender", "panel failed"), ("order status", "panel passed")]
    text = " ".join(page.text)
    failed = text.index("broken blender — run 1")
    assert failed < text.index("order status — run 1")
    # Its reasons, the judge's evidence and its transcript.
    assert "must not: promises a refund" in text
    assert "I will refund you" in text
    assert "I want my money back for the blender" in text
    assert "Sure, I will refund you right away." in text
    assert '<tr class="bot pointed"><td class="n">2</td>' in html


async def test_the_report_escapes_what_the_models_wrote(tmp_path: Path) -> None:
    bot = ScriptedModel(otherwise="How can I help?")
    bot.when("money back").answer("<script>alert(1)</script> refund!")
    models = Models(bot, customer_model(), judge_model())
    page = tmp_path / "report.html"
    await evaluate(tmp_path, models, "--report", str(page))
    html = page.read_text(encoding="utf-8")
    assert "<script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt; refund!" in html


@needs_chromium
async def test_the_report_renders_in_a_headless_browser(tmp_path: Path) -> None:
    path, _ = await report(tmp_path)
    dom, shot = await render(path, tmp_path)
    page = Page()
    page.feed(dom)
    assert [b["data-case"] for b in page.bars] == ["order status", "broken blender"]
    assert 'id="pass-rates"' in dom
    assert "<rect" in dom
    text = " ".join(page.text)
    assert text.index("broken blender — run 1") < text.index("order status — run 1")
    assert "I want my money back for the blender" in text
    assert "Sure, I will refund you right away." in text
    assert shot[:8] == b"\x89PNG\r\n\x1a\n"


async def test_the_page_says_worse_and_better_per_case_with_the_old_rate(
    tmp_path: Path,
) -> None:
    baseline = half_and_whole(tmp_path)
    page = tmp_path / "report.html"
    models = Models(bot_model(), customer_model(), judge_model())
    await evaluate(tmp_path, models, "--report", str(page), "--baseline", str(baseline))
    html = page.read_text(encoding="utf-8")
    assert '<text class="change-worse"' in html
    assert "WORSE (was 100%)</text>" in html
    assert "better (was 50%)</text>" in html
    # A failed run says what may explain it: the tools the bot could offer and called.
    assert "tools the bot could offer: order_status; called: none" in html
