"""`fmbot eval`: simulated customers against the deployment's bot run in process, scored by a
judge. The bot's, the customer's and the judge's models are the test kit's scripted models,
served in process on Yandex's wire (one transport, routed by the model a request names)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from bot import App, ToolContext
from bot.app import parts_of
from bot.cli.dispatch import parser
from bot.cli.factory import Factory
from bot.config import ConfigError
from bot.features.evaluation.cli import run_eval
from bot.testing import ScriptedModel
from bot.testing.tester import run_settings
from tests.features.evaluation.scripted import TWO_CASES as CASES
from tests.features.evaluation.scripted import (
    Models,
    bot_model,
    customer_model,
    judge_model,
    kettle,
)

pytestmark = [pytest.mark.timeout(120)]



def shop() -> tuple[App, list[str]]:
    app = App(env_file=None)
    called: list[str] = []

    @app.tool
    async def order_status(ctx: ToolContext, order_id: str) -> str:
        """Look up an order's status."""
        called.append(order_id)  # never: the case's stub answers
        return "the real API"

    return app, called


async def evaluate(
    tmp_path: Path, models: Models, *options: str, cases: str = CASES,
    app: App | None = None,
) -> tuple[int, dict[str, Any]]:
    """`fmbot eval` on `cases` with `options`; the exit status and the --json document."""
    file = tmp_path / "cases.toml"
    file.write_text(cases, encoding="utf-8")
    out = tmp_path / "out.json"
    settings = run_settings(tmp_path, {"EVAL_CUSTOMER_MODEL": "customer-model",
                                       "EVAL_JUDGE_MODEL": "judge-model"})
    factory = Factory(parts_of(app or shop()[0]), settings, settings.resolved_system_prompt())
    args = parser().parse_args(["eval", str(file), "--json", str(out), *options])
    status = await run_eval(factory, args, transport=models.transport())
    return status, json.loads(out.read_text(encoding="utf-8"))


async def first_run(
    tmp_path: Path, models: Models, cases: str, **settings: object
) -> tuple[int, dict[str, Any]]:
    """`fmbot eval` of `cases` with an App of no parts and `settings` besides the models';
    the exit status and the first case's first run from the --json document."""
    file = tmp_path / "cases.toml"
    file.write_text(cases, encoding="utf-8")
    out = tmp_path / "out.json"
    given = run_settings(tmp_path, {"EVAL_CUSTOMER_MODEL": "customer-model",
                                    "EVAL_JUDGE_MODEL": "judge-model", **settings})
    factory = Factory(parts_of(App(env_file=None)), given, given.resolved_system_prompt())
    args = parser().parse_args(["eval", str(file), "--json", str(out)])
    status = await run_eval(factory, args, transport=models.transport())
    return status, json.loads(out.read_text(encoding="utf-8"))["cases"][0]["results"][0]


def shop_kb(tmp_path: Path) -> Path:
    kb = tmp_path / "kb"
    kb.mkdir()
    (kb / "delivery.md").write_text("# Delivery\n\nOrders ship within two days.\n",
                                    encoding="utf-8")
    return kb


async def test_a_pass_and_a_must_not_failure_are_reported_as_such(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    app, called = shop()
    models = Models(bot_model(), customer_model(), judge_model())
    status, report = await evaluate(tmp_path, models, app=app)
    assert status == 1  # without --min-pass, as a test runner: every run must pass
    order, blender = report["cases"]
    assert (order["name"], order["passed"], order["pass_rate"]) == ("order status", 1, 1.0)
    run = order["results"][0]
    assert run["ending"] == "goal_met"
    assert [line["speaker"] for line in run["transcript"]] == ["customer", "tool", "bot",
                                                               "customer"]
    assert run["tools"] == [{"name": "order_status", "arguments": '{"order_id": "A-1"}',
                             "result": '{"status": "shipped", "delivery": "June 12"}',
                             "stubbed": True}]
    assert "shipped" in run["transcript"][2]["text"]
    assert called == []  # the stub answered, never the deployment's function
    assert blender["passed"] == 0
    failed = blender["results"][0]
    assert failed["must_not"] == [{"text": "promises a refund", "violated": True, "line": 2,
                                   "evidence": "I will refund you"}]
    assert "must not: promises a refund" in failed["failures"]
    assert report["summary"]["runs"] == 2
    assert report["summary"]["passed"] == 1
    assert report["summary"]["tokens"]["bot"] > 0
    assert report["summary"]["tokens"]["customer"] > 0
    shown = capsys.readouterr().out
    assert "order status" in shown
    assert "100%" in shown
    assert "FAILED broken blender" in shown
    assert "line 2 (bot: Sure, I will refund you right away.)" in shown


async def test_a_judge_answer_that_does_not_parse_is_reported_never_a_pass(
    tmp_path: Path,
) -> None:
    judge = ScriptedModel(otherwise="The conversation went well, I would say it passes.")
    status, report = await evaluate(tmp_path, Models(bot_model(), customer_model(), judge),
                                    "--min-pass", "0")
    assert status == 3  # not judged is never "passed", whatever --min-pass says
    assert report["summary"]["unjudged"] == 2
    for case in report["cases"]:
        run = case["results"][0]
        assert run["passed"] is False
        assert run["judge_error"].startswith("the judge's answer does not parse: not JSON")
    assert report["summary"]["passed"] == 0


async def test_a_tool_without_a_stub_is_refused_and_reported(tmp_path: Path) -> None:
    app, called = shop()
    bot = bot_model()
    cases = CASES.replace('[case.tools]\norder_status = { status = "shipped", delivery = '
                          '"June 12" }\n', "")
    _, report = await evaluate(tmp_path, Models(bot, customer_model(), judge_model()),
                               cases=cases, app=app)
    run = report["cases"][0]["results"][0]
    assert called == []
    assert run["unstubbed_tools"] == ["order_status"]
    assert run["tools"][0]["stubbed"] is False
    assert "no stub" in run["tools"][0]["result"]
    assert run["passed"] is False
    assert "tool without a stub: order_status" in run["failures"]
    # What the bot's model was given in place of a result: the refusal.
    assert any("no stub" in result for asked in bot.asked for result in asked.tool_results)


@pytest.mark.slow
async def test_min_pass_fails_the_run_below_the_rate_and_passes_at_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    models = Models(bot_model(), customer_model(), judge_model())
    below, _ = await evaluate(tmp_path, models, "--min-pass", "0.9")
    assert below == 1
    assert "below --min-pass 90%" in capsys.readouterr().err
    models = Models(bot_model(), customer_model(), judge_model())
    at, _ = await evaluate(tmp_path, models, "--min-pass", "0.5", "--repeat", "2")
    assert at == 0


def half_and_whole(tmp_path: Path) -> Path:
    """A baseline where the order case passed half its runs and the blender case all."""
    baseline = tmp_path / "baseline.json"
    baseline.write_text(json.dumps({"format": "fmbot-eval/1", "cases": [
        {"name": "order status", "pass_rate": 0.5},
        {"name": "broken blender", "pass_rate": 1.0},
    ]}), encoding="utf-8")
    return baseline


async def test_baseline_marks_what_got_worse_and_better(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    baseline = half_and_whole(tmp_path)
    models = Models(bot_model(), customer_model(), judge_model())
    _, report = await evaluate(tmp_path, models, "--baseline", str(baseline))
    assert [c["change"] for c in report["cases"]] == ["better", "worse"]
    shown = capsys.readouterr().out
    assert "better (was 50%)" in shown
    assert "WORSE (was 100%)" in shown


async def test_a_malformed_file_is_refused_with_its_line_before_any_model_is_called(
    tmp_path: Path,
) -> None:
    models = Models(bot_model(), customer_model(), judge_model())
    bad = CASES.replace("max_turns = 3\n\n[case.tools]", "max_turns = 0\n\n[case.tools]")
    with pytest.raises(ConfigError) as refused:
        await evaluate(tmp_path, models, cases=bad)
    assert str(refused.value) == (
        "eval: cases.toml, line 8: case 'order status': max_turns: input should be greater "
        "than or equal to 1")
    unknown = CASES.replace("must_not = [\"promises a refund\"]\nmax_turns = 3\n\"\"\"",
                            "") + 'critera = ["typo"]\n'
    with pytest.raises(ConfigError) as refused:
        await evaluate(tmp_path, models, cases=unknown)
    assert "line 20: case 'broken blender': unknown key 'critera'" in str(refused.value)
    # A misspelt required key: the typo is named, with the key meant, not "missing".
    typo = CASES.replace('criteria = ["asks for the order number"]',
                         'critera = ["asks for the order number"]')
    with pytest.raises(ConfigError) as refused:
        await evaluate(tmp_path, models, cases=typo)
    assert ("line 17: case 'broken blender': unknown key 'critera' (did you mean "
            "'criteria'?)") in str(refused.value)
    assert models.requests == models.bot.requests == models.customer.requests == []


async def test_the_customer_presses_an_inline_button_through_the_kits_telegram(
    tmp_path: Path,
) -> None:
    k = kettle()
    cases = CASES.split("[[case]]\nname = \"broken blender\"")[0].replace(
        '[case.tools]\n', '[case.tools]\nopen_ticket = "ticket T-5 opened"\n')
    _, report = await evaluate(tmp_path, Models(k.bot, k.customer, k.judge), cases=cases,
                              app=k.app)
    run = report["cases"][0]["results"][0]
    lines = [(line["speaker"], line["text"]) for line in run["transcript"]]
    assert "Confirm" in lines[1][1]
    assert lines[2:4] == [
        ("customer", "[press: Confirm]"),
        ("tool", 'open_ticket({"subject": "Broken kettle"}) -> ticket T-5 opened')]
    assert lines[4][1].endswith("Done: ticket T-5 opened")
    assert k.opened == []
    assert run["passed"] is True


@pytest.mark.slow
async def test_the_customer_asks_for_a_person_with_the_desks_button(tmp_path: Path) -> None:
    # The desk puts "Ask a person" under the bot's answer; the simulated customer presses it
    # under an answer the knowledge base could not give, as a person would; the desk opens
    # the case, and the run ends handed off (the desk's record, not the judge's reading).
    bot = ScriptedModel(otherwise="NO_ANSWER_IN_SOURCES")
    customer = ScriptedModel(otherwise="Please close my account.")
    customer.when(lambda r: "Ask a person" in r.question).answer("[press: Ask a person]")
    judge = ScriptedModel(otherwise=json.dumps({
        "criteria": [{"holds": True, "line": 2, "evidence": "the bot's answer"}],
        "must_not": [], "resolved": False, "resolved_line": 0,
        "handed_off": False, "handed_off_line": 0}))
    cases = """\
[[case]]
name = "close my account"
persona = "Ivan, brief"
goal = "close his account, which only a person can do"
criteria = ["says it cannot close the account itself"]
handoff = true
max_turns = 3
"""
    status, run = await first_run(
        tmp_path, Models(bot, customer, judge), cases, SUPPORT_CHAT_ID=-1001234567890,
        KB_PATH=shop_kb(tmp_path), KB_MODE="strict", KB_MIN_SCORE=0.99)
    lines = [(line["speaker"], line["text"]) for line in run["transcript"]]
    assert "[buttons:" in lines[1][1]
    assert "Ask a person" in lines[1][1]
    assert lines[2] == ("customer", "[press: Ask a person]")
    assert run["ending"] == "handoff"
    assert run["handed_off"] is True
    assert run["passed"] is True
    assert status == 0


@pytest.mark.usefixtures("virtual_clock")
async def test_a_judge_slower_than_five_seconds_is_waited_for(tmp_path: Path) -> None:
    """The customer's and the judge's clients are timed as the bot's own: a verdict 6 s in
    coming is waited for, as production waits (a bare httpx client gave up at 5 s and asked
    again, paying for the verdict twice). On the virtual clock, which waits for the reads
    that run on aiosqlite's thread: the 6 s stall and a 5 s cut-off still meet in order."""
    models = Models(bot_model(), customer_model(), judge_model())
    models.judge.break_next("stall", seconds=6)
    status, report = await evaluate(tmp_path, models, "--min-pass", "0.5")
    assert status == 0
    order = report["cases"][0]
    assert (order["name"], order["passed"]) == ("order status", 1)
    assert order["results"][0]["ending"] == "goal_met"
    # One request a verdict: the slow one was not cut off and asked again.
    assert len(models.judge.requests) == report["summary"]["runs"] == 2


async def test_the_runs_bounds_are_refused_with_a_clear_error(tmp_path: Path) -> None:
    models = Models(bot_model(), customer_model(), judge_model())
    with pytest.raises(ConfigError, match=r"--repeat is from 1 to 20"):
        await evaluate(tmp_path, models, "--repeat", "21")
    many = "".join(f'[[case]]\nname = "c{i}"\npersona = "p"\ngoal = "g"\n'
                   f'criteria = ["x"]\n\n' for i in range(201))
    with pytest.raises(ConfigError, match=r"201 cases, more than a file may hold \(200\)"):
        await evaluate(tmp_path, models, cases=many)
    big = CASES + "# " + "x" * 1_000_001 + "\n"
    with pytest.raises(ConfigError, match=r"more than an eval file may hold"):
        await evaluate(tmp_path, models, cases=big)
    assert models.requests == []


async def test_the_token_cap_stops_the_run_and_says_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    models = Models(bot_model(), customer_model(), judge_model())
    status, report = await evaluate(tmp_path, models, "--max-tokens", "1", "--concurrency", "1")
    assert status == 3
    assert "token cap (1, --max-tokens) was reached" in report["summary"]["stopped_early"]
    # The first conversation spent its first tokens; nothing more was asked after that.
    first, second = (case["results"][0] for case in report["cases"])
    assert [first["error"] or "", second["error"] or ""].count("") == 0
    assert len(models.customer.requests) == 1
    assert "stopped early: the run's token cap" in capsys.readouterr().out


async def test_a_failed_run_shows_the_passages_found_against_the_cut_off(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bot = ScriptedModel(otherwise="NO_ANSWER_IN_SOURCES")
    customer = ScriptedModel(otherwise="Thanks. [GOAL MET]")
    customer.when(lambda r: "chat is open" in r.question).answer("How fast do orders ship?")
    judge = ScriptedModel(otherwise=json.dumps({
        "criteria": [{"holds": False, "line": 2, "evidence": "not found"}],
        "must_not": [], "resolved": False, "resolved_line": 0,
        "handed_off": False, "handed_off_line": 0}))
    status, run = await first_run(
        tmp_path, Models(bot, customer, judge),
        '[[case]]\nname = "shipping"\npersona = "Ivan"\ngoal = "shipping time"\n'
        'criteria = ["gives the shipping time"]\nmax_turns = 2\n',
        KB_PATH=shop_kb(tmp_path), KB_MODE="strict", KB_MIN_SCORE=0.99)
    assert status == 1
    found, *_, tools = run["diagnosis"]
    assert found.startswith("knowledge base for 'How fast do orders ship?': "
                            "delivery.md 0.")
    assert found.endswith("(KB_MIN_SCORE 0.99: 0 at or above it)")
    assert tools == "tools the bot could offer: none; called: none"
    assert f"  * {found}" in capsys.readouterr().out


async def test_a_thirty_turn_customer_is_not_rate_limited(tmp_path: Path) -> None:
    """RATE_LIMIT_PER_MINUTE is for people: `fmbot eval`'s customers write once per answer,
    30 times in well under a minute, and every message is answered."""
    asked = iter(range(1, 100))
    customer = ScriptedModel()
    customer.when(lambda r: True).answer(lambda r: f"Question {next(asked)}?")
    judge = ScriptedModel(otherwise=json.dumps({
        "criteria": [{"holds": True, "line": 2, "evidence": "x"}], "must_not": [],
        "resolved": True, "resolved_line": 2, "handed_off": False, "handed_off_line": 0}))
    bot = ScriptedModel(otherwise="Noted.")
    status, run = await first_run(
        tmp_path, Models(bot, customer, judge),
        '[[case]]\nname = "chatty"\npersona = "Carla"\ngoal = "ask 30 things"\n'
        'criteria = ["answers every question"]\nmax_turns = 30\n', RATE_LIMIT_PER_MINUTE="20")
    said = [line["text"] for line in run["transcript"] if line["speaker"] == "bot"]
    assert said == ["Noted."] * 30
    assert status == 0
