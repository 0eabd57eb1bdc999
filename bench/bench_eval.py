"""`fmbot eval` on the support template's suite (examples/eval/support.toml, ten cases) against
the project's own models: what a run costs and what its report looks like, with no Yandex.

    .venv/bin/python bench/bench_eval.py [--repeat 3] [--report eval.html] [--json eval.json]
                                         [--screenshot docs/img/eval-report.png]

The bot is the support template's (`fmbot new shop --template support`: its tools, prompt and
settings) run in process by `fmbot eval` itself; the bot's, the customer's and the judge's
models are the test kit's (bot.testing), answering on Yandex's wire in process:

- the bot looks an order up when the customer gives its number (`order_status`, answered by
  the case's stub), offers the return policy when asked about a return, says a person will
  take over when asked for one, and otherwise asks for the order number;
- the customer writes its goal and what it knows, ends with [GOAL MET] once the bot has
  looked something up or handed over, and gives up after three messages;
- the judge holds a criterion when the transcript shows a tool's result (the bot checked
  before it answered; a criterion about a person: when the bot hands over), never sees a
  `must_not` broken, and reads a handoff from the words.

So the figures are the harness's own (wall and CPU seconds, model calls, tokens as the kit
counts them), and the page is the report a lead gets, with passes and failures both in it; the
verdicts say nothing about a real model's quality. `--screenshot` renders the page with
Debian's `chromium --headless` where it is installed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot import App  # noqa: E402
from bot.app import parts_of  # noqa: E402
from bot.cli.dispatch import parser as cli_parser  # noqa: E402
from bot.cli.factory import Factory  # noqa: E402
from bot.features.evaluation.cli import run_eval  # noqa: E402
from bot.testing import ModelAnswer, ModelRequest, TestModel  # noqa: E402
from bot.testing.runsettings import run_settings  # noqa: E402
from tests.browser import CHROMIUM, render  # noqa: E402
from tests.features.evaluation.scripted import Models  # noqa: E402

ORDER = re.compile(r"\b([A-Z]-\d{2,5})\b")


class ShopBot(TestModel):
    def answer(self, request: ModelRequest) -> ModelAnswer:
        if request.tool_results:
            return ModelAnswer(f"Here is what I found: {request.tool_results[-1]}")
        question = request.question.lower()
        order = ORDER.search(request.question.upper())
        if order and "order_status" in request.tools:
            return ModelAnswer(tool_calls=(("order_status", {"order_id": order.group(1)}),))
        if any(word in question for word in ("person", "human", "operator", "оператор")):
            return ModelAnswer("I am passing you to a person from our team now.")
        if any(word in question for word in ("return", "refund", "money", "вернуть")):
            return ModelAnswer("Returns are accepted within 30 days of delivery. "
                               "What is your order number?")
        return ModelAnswer("Could you tell me your order number?")


class Customer(TestModel):
    def answer(self, request: ModelRequest) -> ModelAnswer:
        goal = _after(request.system, "Your goal: ")
        facts = [line[2:] for line in request.system.splitlines() if line.startswith("- ")]
        said = [m for m in request.messages if m.get("role") == "assistant"]
        if not said:
            return ModelAnswer(f"Hello, I want to {goal}.")
        if "found" in request.question or "person" in request.question:
            return ModelAnswer("Thank you. [GOAL MET]")
        if len(said) >= 3:
            return ModelAnswer("This does not help me. [GIVE UP]")
        return ModelAnswer(facts[0] if facts else "I do not know.")


class Judge(TestModel):
    def answer(self, request: ModelRequest) -> ModelAnswer:
        criteria = _items(request.system, "Criteria the conversation must satisfy:")
        rules = _items(request.system, "Things the bot must not do:")
        lines = request.question.splitlines()
        tool = next((i for i, line in enumerate(lines, 1) if " tool: " in line), 0)
        handoff = next((i for i, line in enumerate(lines, 1)
                        if " bot: " in line and "a person" in line), 0)
        shown = [handoff if "person" in criterion else tool for criterion in criteria]
        return ModelAnswer(json.dumps({
            "criteria": [{"holds": bool(line), "line": line,
                          "evidence": "the bot's line" if line else "nothing shows it"}
                         for line in shown],
            "must_not": [{"holds": False, "line": 0, "evidence": ""} for _ in rules],
            "resolved": bool(tool), "resolved_line": tool,
            "handed_off": bool(handoff), "handed_off_line": handoff,
        }))


def _after(text: str, prefix: str) -> str:
    return next((line[len(prefix):] for line in text.splitlines() if line.startswith(prefix)), "")


def _items(text: str, heading: str) -> list[str]:
    """The numbered lines under `heading` (up to the next blank line)."""
    block = text.split(heading, 1)[1].strip().split("\n\n", 1)[0] if heading in text else ""
    return [line for line in block.splitlines() if re.match(r"\d+\. ", line)]


def absolute(value: str) -> Path:
    return Path(value).resolve()


def support_app(folder: Path) -> App:
    """The App of a new project made by `fmbot new shop --template support`."""
    subprocess.run([sys.executable, "-m", "bot", "new", "shop", "--template", "support"],
                   cwd=folder, check=True, capture_output=True)
    sys.path.insert(0, str(folder / "shop"))
    from shop.app import app  # type: ignore[import-not-found]

    assert isinstance(app, App)
    return app


async def main() -> None:
    options = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    options.add_argument("--repeat", type=int, default=3)
    options.add_argument("--report", type=absolute, default=None)
    options.add_argument("--json", type=absolute, default=None)
    options.add_argument("--screenshot", type=absolute, default=None)
    args = options.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-eval-") as tmp:
        folder = Path(tmp)
        app = support_app(folder)
        cases = folder / "shop" / "eval" / "support.toml"
        report = args.report or folder / "eval.html"
        out = args.json or folder / "eval.json"
        settings = run_settings(folder, {"EVAL_CUSTOMER_MODEL": "customer-model",
                                         "EVAL_JUDGE_MODEL": "judge-model"})
        factory = Factory(parts_of(app), settings, settings.resolved_system_prompt())
        models = Models(ShopBot(), Customer(), Judge())
        command = cli_parser().parse_args([
            "eval", str(cases), "--repeat", str(args.repeat), "--json", str(out),
            "--report", str(report)])
        wall, cpu = time.perf_counter(), time.process_time()
        status = await run_eval(factory, command, transport=models.transport())
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        document = json.loads(out.read_text(encoding="utf-8"))
        runs = [run for case in document["cases"] for run in case["results"]]
        print(f"\ncases {len(document['cases'])}, runs {len(runs)} (--repeat {args.repeat}), "
              f"passed {sum(run['passed'] for run in runs)}, exit status {status}")
        print(f"wall {wall:.2f} s, CPU {cpu:.2f} s ({cpu / len(runs) * 1000:.0f} ms a run)")
        print(f"model calls: bot {len(models.bot.requests)}, customer "
              f"{len(models.customer.requests)}, judge {len(models.judge.requests)}")
        print(f"report {report} ({report.stat().st_size} bytes)")
        if args.screenshot is not None:
            await screenshot(report, args.screenshot)


async def screenshot(page: Path, png: Path) -> None:
    if CHROMIUM is None:
        print("no chromium: no screenshot")
        return
    with tempfile.TemporaryDirectory(prefix="bench-eval-chromium-") as folder:
        _, shot = await render(page, Path(folder), size="1100,1400")
    await asyncio.to_thread(png.parent.mkdir, parents=True, exist_ok=True)
    await asyncio.to_thread(png.write_bytes, shot)
    print(f"screenshot {png}")


if __name__ == "__main__":
    asyncio.run(main())
