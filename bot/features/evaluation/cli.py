"""`fmbot eval FILE`: simulated customers (bot/features/evaluation) against the deployment's
bot, run in process (evalbot.py), scored by a judge model; a table, `--json`, `--baseline`
and `--min-pass` for CI. Exit status 1 when the pass rate is below `--min-pass` (without it:
when any run failed, as a test runner exits), 2 for a
malformed case file or bad options (before any model is called), 3 when a run could not be
judged (a model failed, the judge's answer did not parse, the token cap stopped it): a gate
must not read "no verdict" as a pass."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from bot.features.evaluation.settings import EvaluationSettings
from bot.plugin.commands import Command, CommandContext, Subcommands
from bot.plugin.config import ConfigError

if TYPE_CHECKING:
    import httpx

    from bot.features.evaluation.runner import Run

EXIT_BELOW = 1
EXIT_UNJUDGED = 3
# Bounds a run may ask for: each run of a case is several model calls per turn.
MAX_REPEAT = 20
MAX_CONCURRENCY = 16
DEFAULT_MAX_TOKENS = 2_000_000


def add_parser(commands: Subcommands) -> list[argparse.ArgumentParser]:
    evaluate = commands.add_parser(
        "eval", help="run simulated customers (a TOML file of cases) against the bot and "
        "score each conversation with a judge model",
    )
    evaluate.add_argument("file", type=Path, help="the cases (docs/evaluation.md)")
    evaluate.add_argument("--repeat", type=int, default=1, metavar="N",
                          help=f"run each case N times (models vary; default 1, at most "
                          f"{MAX_REPEAT})")
    evaluate.add_argument("--concurrency", type=int, default=4, metavar="N",
                          help=f"conversations at once (default 4, at most {MAX_CONCURRENCY}; "
                          "YANDEX_MAX_CONCURRENT_GENERATIONS still caps the model calls)")
    evaluate.add_argument("--max-tokens", type=int, default=DEFAULT_MAX_TOKENS, metavar="N",
                          help="stop starting conversations and turns once the bot, the "
                          "customers and the judge have spent N tokens together (default "
                          f"{DEFAULT_MAX_TOKENS:,}); the runs cut short count as not judged")
    evaluate.add_argument("--json", type=Path, default=None, metavar="FILE",
                          help="write every transcript, verdict and figure to this file")
    evaluate.add_argument("--report", type=Path, default=None, metavar="FILE.html",
                          help="write one self-contained page: the pass rates as a chart, "
                          "the failures first with their transcripts and the judge's evidence")
    evaluate.add_argument("--baseline", type=Path, default=None, metavar="FILE.json",
                          help="an earlier run's --json: mark the cases that got worse or "
                          "better")
    evaluate.add_argument("--min-pass", type=float, default=None, metavar="R",
                          help="exit with status 1 when the share of runs passed is below R "
                          "(0 to 1; without it, when any run failed)")
    return [evaluate]


async def run(factory: CommandContext, args: argparse.Namespace) -> int:
    return await run_eval(factory, args)


def _checked(args: argparse.Namespace) -> None:
    if not 1 <= args.repeat <= MAX_REPEAT:
        raise ConfigError(f"eval: --repeat is from 1 to {MAX_REPEAT} (each run of a case is "
                          "several model calls per turn)")
    if not 1 <= args.concurrency <= MAX_CONCURRENCY:
        raise ConfigError(f"eval: --concurrency is from 1 to {MAX_CONCURRENCY}")
    if args.max_tokens < 1:
        raise ConfigError("eval: --max-tokens must be at least 1")
    if args.min_pass is not None and not 0 <= args.min_pass <= 1:
        raise ConfigError("eval: --min-pass is a share of runs, from 0 to 1 (e.g. 0.9)")
    if args.json is not None and not args.json.expanduser().parent.is_dir():
        raise ConfigError(f"eval: --json: no such folder {args.json.parent}")
    if args.report is not None and not args.report.expanduser().parent.is_dir():
        raise ConfigError(f"eval: --report: no such folder {args.report.parent}")


async def run_eval(
    factory: CommandContext,
    args: argparse.Namespace,
    *,
    transport: httpx.AsyncBaseTransport | None = None,
) -> int:
    """The command; `transport`: every model call's (a test's model in process), else
    Yandex's over the network."""

    from bot.features.evaluation.cases import CaseFileError, read_cases
    from bot.features.evaluation.customer import Customer
    from bot.features.evaluation.evalbot import Meter, evaluated_bot, explainer
    from bot.features.evaluation.judge import Judge
    from bot.features.evaluation.report import (
        BaselineError,
        as_json,
        failures,
        read_baseline,
        table,
        write_json,
    )
    from bot.features.evaluation.runner import Runner
    from bot.features.evaluation.stubs import Stubs
    from bot.plugin.clients import build_auth_from, build_client
    from bot.plugin.models import client_over

    _checked(args)
    # The file and the baseline are refused before any model is called.
    try:
        cases = read_cases(args.file.expanduser())
        baseline = read_baseline(args.baseline) if args.baseline is not None else None
    except (CaseFileError, BaselineError) as exc:
        raise ConfigError(f"eval: {exc}") from None
    settings = factory.settings
    area = settings.section(EvaluationSettings)
    http = client_over(transport) if transport is not None else None
    client = build_client(settings, build_auth_from(settings), http)
    stubs, meter = Stubs(), Meter()
    stubbed_context = {name for case in cases.case for name in case.context_stubs(cases.context)}
    try:
        async with evaluated_bot(factory, stubs, meter, transport) as bot:
            runner = Runner(bot, stubs, Customer(client, area.customer_model),
                            Judge(client, area.judge_model), concurrency=args.concurrency,
                            progress=_progress, max_tokens=args.max_tokens,
                            bot_tokens=lambda: meter.tokens, explain=explainer(bot, stubs))
            suite = await runner.run(cases, repeat=args.repeat, bot_model=settings.text_model)
    finally:
        await client.aclose()
        if http is not None:
            await http.aclose()
    suite.bot_tokens = meter.tokens
    suite.isolation = factory.evaluation_lines(stubbed_context)
    print(table(suite, baseline))
    shown = failures(suite)
    if shown:
        print()
        print(shown)
    if args.json is not None:
        try:
            write_json(args.json.expanduser(), as_json(suite, file=str(args.file),
                                                       baseline=baseline))
        except OSError as exc:
            raise ConfigError(f"eval: --json: cannot write {args.json}: {exc.strerror}") from None
        print(f"\nfmbot eval: every transcript and verdict written to {args.json}")
    if args.report is not None:
        from bot.features.evaluation.htmlreport import html_report, write_html

        page = html_report(suite, file=str(args.file), baseline=baseline)
        try:
            write_html(args.report.expanduser(), page)
        except OSError as exc:
            raise ConfigError(f"eval: --report: cannot write {args.report}: "
                              f"{exc.strerror}") from None
        print(f"fmbot eval: the report is in {args.report} (open it in a browser)")
    if suite.unjudged:
        print(f"fmbot eval: {len(suite.unjudged)} of {len(suite.runs)} run(s) could not be "
              "judged (see the failures above): exit status 3", file=sys.stderr)
        return EXIT_UNJUDGED
    # As a test runner does: without --min-pass, every run must pass.
    wanted = args.min_pass if args.min_pass is not None else 1.0
    if suite.pass_rate < wanted:
        print(f"fmbot eval: {suite.pass_rate:.0%} of runs passed, below "
              + (f"--min-pass {wanted:.0%}" if args.min_pass is not None
                 else "100% (no --min-pass given: every run must pass)"), file=sys.stderr)
        return EXIT_BELOW
    return 0


def _progress(run: Run, done: int, total: int) -> None:
    verdict = "pass" if run.passed else "FAIL"
    print(f"eval [{done}/{total}] {run.case.name} #{run.number}: {verdict}", file=sys.stderr)


command = Command("eval", add_parser, run)
