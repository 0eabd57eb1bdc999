"""`BotTester.simulate`: a case of an `fmbot eval` file replayed in a bot's own test suite,
the customer and the judge played by the kit's scripted models (offline)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot import App, ToolContext
from bot.features.evaluation.customer import parse_turn
from bot.testing import BotTester, CaseFile, ScriptedModel, read_cases
from tests.features.evaluation.scripted import (
    TWO_CASES,
    bot_model,
    customer_model,
    judge_model,
    kettle,
)

pytestmark = [pytest.mark.timeout(60)]

CASES = '[tools]\nopen_ticket = "ticket T-9 opened"\n\n' + TWO_CASES


def shop() -> tuple[App, list[str]]:
    app = App(env_file=None)
    called: list[str] = []

    @app.tool
    async def order_status(ctx: ToolContext, order_id: str) -> str:
        """Look up an order's status."""
        called.append(order_id)
        return "delivered yesterday"

    return app, called


@pytest.fixture
def cases(tmp_path: Path) -> CaseFile:
    file = tmp_path / "cases.toml"
    file.write_text(CASES, encoding="utf-8")
    return read_cases(file)


async def test_a_case_of_an_eval_file_passes_in_the_bots_own_tests(cases: CaseFile) -> None:
    app, called = shop()
    judge = judge_model()
    async with BotTester(app, model=bot_model()) as tester:
        run = await tester.simulate(cases.named("order status"), customer=customer_model(),
                                    judge=judge)
        assert run.passed, run.failures()
        assert run.ending == "goal_met"
        assert [line.speaker for line in run.transcript.lines] == [
            "customer", "tool", "bot", "customer"]
        assert run.tools[0].stubbed
        assert 'Order A-1: {"status": "shipped", "delivery": "June 12"}' in \
            run.transcript.lines[2].text
        assert called == []  # the case's stub answered
        # An ordinary test user of the same tester reaches the real tool.
        reply = await tester.user("Carl").says("And my order A-1?")
        assert reply.text == "Order A-1: delivered yesterday"
        assert called == ["A-1"]
    # The judge read the numbered transcript.
    assert "1 customer: Where is my order A-1?" in judge.asked[0].question
    # The file's shared stubs are the case's too.
    assert cases.named("order status").tools["open_ticket"] == "ticket T-9 opened"


async def test_a_must_not_failure_is_a_failed_run_with_the_judges_evidence(
    cases: CaseFile,
) -> None:
    app, _ = shop()
    async with BotTester(app, model=bot_model()) as tester:
        run = await tester.simulate(cases.named("broken blender"), customer=customer_model(),
                                    judge=judge_model())
    assert not run.passed
    assert "must not: promises a refund" in run.failures()
    (rule,) = run.must_not
    assert (rule.ok, rule.line, rule.evidence) == (False, 2, "I will refund you")
    assert run.transcript.line(2) is not None
    assert run.transcript.lines[1].text == "Sure, I will refund you right away."


async def test_a_judge_answer_that_does_not_parse_is_never_a_pass(cases: CaseFile) -> None:
    app, _ = shop()
    judge = ScriptedModel(otherwise="Looks fine to me.")
    async with BotTester(app, model=bot_model()) as tester:
        run = await tester.simulate(cases.named("order status"),
                                    customer=customer_model(), judge=judge)
    assert not run.passed
    assert run.judge_error.startswith("the judge's answer does not parse")


def test_an_unknown_case_name_lists_the_cases(cases: CaseFile) -> None:
    with pytest.raises(KeyError, match=r"no case named .nope.*.order status., "
                       r"'broken blender'"):
        cases.named("nope")




async def test_the_simulated_customer_presses_the_tool_cards_confirm(cases: CaseFile) -> None:
    k = kettle(press="confirm")  # the button's text in another case
    case = cases.named("broken blender")  # the file's shared stub: open_ticket
    async with BotTester(k.app, model=k.bot) as tester:
        run = await tester.simulate(case, customer=k.customer, judge=k.judge)
    lines = [(line.speaker, line.text) for line in run.transcript.lines]
    assert lines[0] == ("customer", "My kettle is broken")
    assert "[buttons: " in lines[1][1]
    assert "Confirm" in lines[1][1]
    assert lines[2:4] == [
        ("customer", "[press: confirm]"),
        ("tool", 'open_ticket({"subject": "Broken kettle"}) -> ticket T-9 opened')]
    assert lines[4][0] == "bot"
    assert lines[4][1].endswith("Done: ticket T-9 opened")
    assert lines[5] == ("customer", "Thanks")
    assert run.ending == "goal_met"
    assert k.opened == []  # the stub answered after the press
    assert run.passed, run.failures()


async def test_a_press_on_a_button_not_shown_is_told_to_the_customer(cases: CaseFile) -> None:
    app, _ = shop()
    customer = ScriptedModel(otherwise="Thanks [GOAL MET]")
    customer.when(lambda r: "chat is open" in r.question).answer("[press: Ask a person]")
    async with BotTester(app, model=bot_model()) as tester:
        run = await tester.simulate(cases.named("order status"), customer=customer,
                                    judge=judge_model())
    assert [line.text for line in run.transcript.lines][:2] == [
        "[press: Ask a person]",
        "(nothing happens: no button 'Ask a person' to press (buttons shown: none))"]


def test_the_customers_press_is_read_from_its_answer() -> None:
    turn = parse_turn("Yes, open it. [Press: Confirm ]", tokens=5)
    assert (turn.text, turn.press, turn.done) == ("Yes, open it.", "Confirm", None)
    assert parse_turn("Thanks! [GOAL MET]", tokens=1).press is None


async def test_a_long_simulated_conversation_is_not_rate_limited(tmp_path: Path) -> None:
    """RATE_LIMIT_PER_MINUTE (20 by default) is for people: a simulated customer writes once
    per answer, 30 times here in well under a minute, and every message is answered. An
    ordinary test user of the same tester is still limited."""
    file = tmp_path / "long.toml"
    file.write_text(
        '[[case]]\nname = "chatty"\npersona = "Chatty Carla"\ngoal = "ask 30 things"\n'
        'criteria = ["answers every question"]\nmax_turns = 30\n', encoding="utf-8")
    case = read_cases(file).named("chatty")
    asked = iter(range(1, 100))
    customer = ScriptedModel()
    customer.when(lambda r: "Carla" in r.system).answer(lambda r: f"Question {next(asked)}?")
    judge = ScriptedModel()
    judge.when(lambda r: True).answer(
        '{"criteria": [{"holds": true, "line": 2, "evidence": "x"}], "must_not": [], '
        '"resolved": true, "resolved_line": 2, "handed_off": false, "handed_off_line": 0}')
    async with BotTester(App(env_file=None), settings={"RATE_LIMIT_PER_MINUTE": "20"}) as tester:
        run = await tester.simulate(case, customer=customer, judge=judge)
        bot_lines = [line.text for line in run.transcript.lines if line.speaker == "bot"]
        assert len(bot_lines) == 30
        assert bot_lines == [f"Question {n}?" for n in range(1, 31)]  # each one echoed
        carl = tester.user("Carl")
        replies = [(await carl.says(f"hi {n}")).text for n in range(21)]
        assert replies[-1].startswith("You are sending messages too fast")
