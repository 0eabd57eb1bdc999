"""Evaluation touches nothing real: in `fmbot eval` and `BotTester.simulate`, the App's hooks,
its context providers and its plugins' features do not run on a simulated customer's behalf
(a provider the case gives a `[context]` text is answered by it), and the report says so."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from bot import App, ToolContext
from bot.app import parts_of
from bot.cli.dispatch import parser
from bot.cli.factory import Factory
from bot.extending.events import AnswerEvent, HandoffEvent
from bot.features.evaluation.cli import run_eval
from bot.plugin.feature import Feature
from bot.testing import BotTester, read_cases
from bot.testing.tester import run_settings
from tests.features.evaluation.scripted import (
    TWO_CASES,
    Models,
    bot_model,
    customer_model,
    judge_model,
)

pytestmark = [pytest.mark.timeout(120)]

# The order case gives the loyalty provider a stand-in; no case gives the CRM one.
CASES = TWO_CASES.replace(
    '[case.tools]\norder_status = { status = "shipped", delivery = "June 12" }\n',
    '[case.tools]\norder_status = { status = "shipped", delivery = "June 12" }\n\n'
    '[case.context]\nloyalty = "The customer is a Gold member."\n')


def recording_app() -> tuple[App, list[str]]:
    """An App whose every hook, provider and plugin feature notes what reached it: the CRM
    and the helpdesk a real deployment would call."""
    app = App(env_file=None)
    reached: list[str] = []

    @app.tool
    async def order_status(ctx: ToolContext, order_id: str) -> str:
        """Look up an order's status."""
        reached.append(f"tool {order_id}")
        return "the real API"

    @app.context
    async def loyalty(ctx: ToolContext) -> str:
        reached.append(f"loyalty for {ctx.user_id}")
        return "The customer is a Bronze member (from the real CRM)."

    @app.context
    async def crm(ctx: ToolContext) -> str:
        reached.append(f"crm for {ctx.user_id}")
        return "Open tickets: 3 (from the real CRM)."

    @app.on_startup
    async def connect() -> None:
        reached.append("on_startup")

    @app.on_shutdown
    async def disconnect() -> None:
        reached.append("on_shutdown")

    @app.on_answer
    async def log_answer(event: AnswerEvent) -> None:
        reached.append(f"on_answer for {event.user_id}")

    @app.on_handoff
    async def open_ticket(event: HandoffEvent) -> None:
        reached.append(f"on_handoff for {event.user_id}")

    async def lifespan(ctx: Any) -> None:
        await ctx.core()
        reached.append("plugin feature built")

    app.add_feature(Feature(name="crm-sync", lifespan=lifespan))
    return app, reached


async def test_fmbot_eval_runs_no_hook_no_unstubbed_provider_and_no_plugin_feature(
    tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    app, reached = recording_app()
    file = tmp_path / "cases.toml"
    file.write_text(CASES, encoding="utf-8")
    out = tmp_path / "out.json"
    settings = run_settings(tmp_path, {"EVAL_CUSTOMER_MODEL": "customer-model",
                                       "EVAL_JUDGE_MODEL": "judge-model"})
    factory = Factory(parts_of(app), settings, settings.resolved_system_prompt())
    models = Models(bot_model(), customer_model(), judge_model())
    args = parser().parse_args(["eval", str(file), "--json", str(out)])
    await run_eval(factory, args, transport=models.transport())
    assert reached == []  # nothing real was reached, on no path
    assert app.evaluating
    # The stubbed provider's stand-in reached the bot's model; the real texts never did.
    systems = [asked.system for asked in models.bot.asked]
    assert any("Gold member" in system for system in systems)
    assert not any("real CRM" in system for system in systems)
    report = json.loads(out.read_text(encoding="utf-8"))
    order, blender = (case["results"][0] for case in report["cases"])
    assert "context provider 'crm'" in order["not_run"]
    assert "context provider 'loyalty'" not in order["not_run"]
    assert "context provider 'loyalty'" in blender["not_run"]  # no stand-in in that case
    assert any(item.startswith("on_answer hook ") and item.endswith("log_answer")
               for item in order["not_run"])
    what_ran = "\n".join(report["isolation"])
    assert "context provider 'loyalty': answered by the cases' [context] stub" in what_ran
    assert "context provider 'crm': not run (no case gives it" in what_ran
    assert "connect: not run" in what_ran
    assert "plugin feature 'crm-sync': not built" in what_ran
    assert "what ran (docs/evaluation.md" in capsys.readouterr().out


async def test_simulate_keeps_simulated_customers_from_the_apps_hooks_and_providers(
    tmp_path: Path,
) -> None:
    app, reached = recording_app()
    file = tmp_path / "cases.toml"
    file.write_text(CASES, encoding="utf-8")
    case = read_cases(file).named("order status")
    model = bot_model()
    async with BotTester(app, model=model) as tester:
        run = await tester.simulate(case, customer=customer_model(), judge=judge_model())
        await tester.settle()
        # The simulated customer reached none of them (the tester's own start did).
        assert reached == ["plugin feature built", "on_startup"]
        assert "context provider 'crm'" in run.not_run
        # An ordinary test user of the same tester meets the App as it is.
        carl = tester.user("Carl")
        await carl.says("Hello")
        await tester.settle()
    assert f"crm for {carl.id}" in reached
    assert f"on_answer for {carl.id}" in reached
    assert "on_shutdown" in reached  # a developer's own test runs the App's lifecycle
