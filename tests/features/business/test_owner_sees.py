"""What the owner of a connected account is told and shown: what the bot cannot answer in
their name, edits, /business in the menu and /help, customers told apart, a taken-over chat."""

from __future__ import annotations

import pytest

from bot import App
from bot.testing import BotTester, ScriptedModel

pytestmark = [pytest.mark.timeout(60)]


def shop() -> ScriptedModel:
    model = ScriptedModel()
    model.when("deliver").answer("We deliver on Sundays.")
    return model


@pytest.mark.parametrize(("kind", "said"), [("voice", "a voice note"), ("sticker", "a sticker")])
async def test_a_voice_note_or_sticker_goes_to_the_owner_and_nothing_to_the_customer(
    kind: str, said: str,
) -> None:
    async with BotTester(App(env_file=None), model=shop()) as tester:
        owner, vera = tester.user("Olga"), tester.user("Vera")
        shop_ = await tester.business(owner)
        reply = await shop_.customer(vera).sends(kind)  # type: ignore[arg-type]
        assert reply.messages == ()
        assert tester.model.requests == []
        assert f"Vera · [{kind}] sent {said}: I answer text only, so answer it yourself." in \
            [card.text for card in shop_.cards]


async def test_an_edited_question_is_not_answered_again_and_the_owner_is_told() -> None:
    async with BotTester(App(env_file=None), model=shop()) as tester:
        owner, vera = tester.user("Olga"), tester.user("Vera")
        shop_ = await tester.business(owner)
        customer = shop_.customer(vera)
        await customer.says("Do you deliver?")
        edited = await customer.edits(1, "Do you deliver on Mondays?")
        assert edited.messages == ()
        assert len(tester.model.requests) == 1
        (note,) = [card.text for card in shop_.cards if "edited" in card.text]
        assert "I do not answer edits" in note
        assert note.endswith("Do you deliver on Mondays?")


async def test_business_is_in_the_menu_and_help() -> None:
    async with BotTester(App(env_file=None), model=shop()) as tester:
        owner = tester.user("Olga")
        await tester.business(owner)
        menus = [c for c in tester.telegram.sent if c.method == "setMyCommands"]
        assert menus
        assert all("business" in str(c.params["commands"]) for c in menus)
        assert "/business - " in (await owner.says("/help")).text


async def test_two_customers_of_one_name_are_told_apart_and_a_taken_over_chat_says_so() -> None:
    async with BotTester(App(env_file=None), model=shop()) as tester:
        owner = tester.user("Olga")
        bob, other_bob = tester.user("Bob"), tester.user("Bob")
        shop_ = await tester.business(owner)
        await shop_.customer(bob).says("Do you deliver to Kazan?")
        await shop_.customer(other_bob).says("Do you deliver on Sundays?")
        await shop_.owner_says(bob, "Yes, to Kazan too.")
        status = await owner.says("/business")
        buttons = status.messages[0].button_texts()
        assert "⏸ Bob · Do you deliver to Kazan?" in buttons
        assert "⏸ Bob · Do you deliver on Sunda…" in buttons
        assert "Bob · Do you deliver to Kazan?: yours (you wrote there), I keep quiet " \
            "until" in status.text
        assert "Sunda…: yours" not in status.text
