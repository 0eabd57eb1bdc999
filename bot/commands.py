"""The commands of an `App`: `run | migrate | chat | check | report | kb | insights | tools`,
parsed and run for the App that bot/cli.py loaded (`--app`) or `App.run()` was called on;
`FMBOT_PLUGINS` sets up installed plugins either way. Below the public API (bot/app.py),
which calls `run_app` for `App.run()`; the command line (bot/cli.py) sits above both.

Settings are read and checked before anything else starts (bot/wiring/preflight.py, which `check`
uses too), so missing or bad settings end the process at once with one line per problem, each
naming the variable to set (exit code 2). A database migrated by a newer fmbot is refused with
exit code 3.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Coroutine, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from bot.config import ConfigError, Settings
from bot.log import setup_logging

if TYPE_CHECKING:
    from bot.app import App

log = logging.getLogger("bot")

EXIT_CONFIG = 2
EXIT_SCHEMA = 3


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="fmbot",
        description="Telegram chatbot on Yandex Cloud Foundation Models. "
        "Configuration comes from the environment and .env (see .env.example).",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    commands.add_parser("run", help="run the Telegram bot (long polling or webhook)")
    commands.add_parser("migrate", help="upgrade the database schema and exit")
    chat = commands.add_parser("chat", help="chat with the model in this terminal")
    chat.add_argument(
        "--chat-id",
        type=int,
        default=0,
        help="conversation to continue (default 0: the terminal's own)",
    )
    chat.add_argument("--model", default=None, help="model to use instead of TEXT_MODEL")
    chat.add_argument(
        "--log-file", type=Path, default=None,
        help="write the log (at LOG_LEVEL) to this file; without it only warnings and errors "
        "are shown, so that log lines do not break into answers",
    )
    chat.add_argument(
        "--history", type=Path, default=Path("~/.fmbot_history"),
        help="file keeping the lines you typed, for the arrow keys (default ~/.fmbot_history)",
    )
    record = commands.add_parser(
        "record", help="chat in this terminal against the real Yandex API and write every "
        "model request and response (credentials and user ids scrubbed) to a JSON file for "
        "bot.testing.RecordedModel",
    )
    record.add_argument("--out", type=Path, required=True, help="the recording to write")
    for option in chat._actions[1:]:  # the chat's own options (--chat-id, --model, ...)
        record._add_action(option)
    from bot import kb_cli

    kb_cli.add_parser(commands)
    from bot import insights_cli

    insights_cli.add_parser(commands)
    from bot import tools_cli

    tools_cli.add_parser(commands)

    # Support desk.
    report = commands.add_parser("report", help="print the support desk's figures")
    report.add_argument("--days", type=int, default=7, help="the period, in days (default 7)")
    report.add_argument("--csv", type=Path, default=None, help="also write one row per "
                        "conversation to this CSV file")

    # Read by bot/cli.py before any App or settings (bot/scaffold): listed here for --help.
    new = commands.add_parser("new", help="create a new bot project: fmbot new NAME "
                              "[--template chat|support|helpdesk]")
    new.add_argument("name", metavar="NAME")
    commands.add_parser(
        "check",
        help="check the configuration and every dependency (Telegram, Yandex, database, "
        "Redis, support chat, knowledge base); exit status 0 only if all pass",
    )
    # Read before argparse (`_take_app`); declared here so that every --help shows it.
    for sub in [*commands.choices.values(), *_nested(commands)]:
        sub.add_argument(
            "--app",
            metavar="MODULE:ATTR",
            default=argparse.SUPPRESS,
            help="run the fmbot.App named so (e.g. mybot:app) instead of the plain bot",
        )
    return parser


def _nested(
    commands: argparse._SubParsersAction[argparse.ArgumentParser],
) -> list[argparse.ArgumentParser]:
    found: list[argparse.ArgumentParser] = []
    for sub in commands.choices.values():
        for action in sub._actions:
            if isinstance(action, argparse._SubParsersAction):
                found.extend(action.choices.values())
    return found


def secrets_of(settings: Settings) -> list[str]:
    """Values the log scrubber must never let through."""
    values = [
        settings.yandex_api_key,
        settings.yandex_iam_token,
        settings.telegram_bot_token,
        settings.telegram_webhook_secret,
        settings.tools_signing_secret,
    ]
    found = [v.get_secret_value() for v in values if v is not None]
    redis_password = urlsplit(settings.redis_url).password if settings.redis_url else None
    return found + ([redis_password] if redis_password else []) + tool_secrets(settings)


def tool_secrets(settings: Settings) -> list[str]:
    """The values of the `${VAR}` TOOLS_FILE uses (API tokens, MCP keys); short ones (a
    language, a number) would blank out ordinary words, so only 8 characters and more."""
    if settings.tools_file is None:
        return []
    from bot.tools.toolsfile import referenced_variables
    from bot.wiring import tool_environment

    environ = tool_environment()
    values = (environ.get(name, "") for name in referenced_variables(settings.tools_file))
    return [value for value in values if len(value) >= 8]


def _check(command: str, settings: Settings) -> str:
    """Check what `command` needs (every problem at once); returns the resolved system
    prompt. `check` validates the same way, in its own lines."""
    from bot.wiring.preflight import validate

    if command != "check":
        validate(settings, command)
    if command in ("run", "chat", "record"):
        return settings.resolved_system_prompt()
    return ""


def _fail(exc: Exception) -> None:
    """One line per problem, each prefixed as the shell expects of a command's error."""
    for line in str(exc).splitlines() or [""]:
        print(f"fmbot: {line}", file=sys.stderr)


def run_app(app: App, argv: Sequence[str]) -> int:
    """Run a command line (without `--app`) for `app`."""
    args = _parser().parse_args(argv)
    try:
        settings = app.settings
        system_prompt = _check(args.command, settings)
    except ConfigError as exc:
        _fail(exc)
        return EXIT_CONFIG
    try:
        _logging_for(args, settings)
    except OSError as exc:
        print(f"fmbot: --log-file: cannot write {args.log_file}: {exc.strerror}", file=sys.stderr)
        return EXIT_CONFIG
    except ValueError:
        print(f"fmbot: LOG_LEVEL: unknown level {settings.log_level!r}", file=sys.stderr)
        return EXIT_CONFIG

    for line in settings.no_effect():
        log.warning("%s", line)

    from bot.storage.database import SchemaTooNewError

    try:
        # Plugins after the checks (a missing token is named before a plugin's setting) and
        # the logging set-up (their set-up is logged).
        app.use_plugins(settings.fmbot_plugins)
        if args.command == "kb":
            from bot import kb_cli

            return run_async_value(kb_cli.run(settings, args, extra=app.migration_folders()))
        if args.command == "insights":
            from bot import insights_cli

            return run_async_value(
                insights_cli.run(settings, args, extra=app.migration_folders(), app=app)
            )
        if args.command == "tools":
            from bot import tools_cli

            return run_async_value(tools_cli.run(settings, args))
        if args.command == "check":
            return run_checks(settings)
        if args.command == "migrate":
            run_async(_migrate(settings.database_url, app.migration_folders()))
        elif args.command == "report":
            from bot.reports import run_report

            if args.days < 1:
                raise ConfigError("report: --days must be at least 1")
            if args.csv is not None and not args.csv.expanduser().parent.is_dir():
                raise ConfigError(f"report: --csv: no such folder {args.csv.parent}")
            run_async(run_report(settings, days=args.days, csv_path=args.csv, app=app))
        elif args.command == "record":
            run_async(_record(settings, system_prompt, args, app))
        elif args.command == "run":
            from bot.wiring import run_bot

            run_async(run_bot(settings, system_prompt, app=app))
        else:
            run_async(
                run_terminal_chat(
                    settings, system_prompt, chat_id=args.chat_id, model=args.model,
                    history=args.history.expanduser(), app=app,
                )
            )
    except SchemaTooNewError as exc:
        print(f"fmbot: {exc}", file=sys.stderr)
        return EXIT_SCHEMA
    except ConfigError as exc:
        _fail(exc)
        return EXIT_CONFIG
    except KeyboardInterrupt:
        return 130
    return 0


def _logging_for(args: argparse.Namespace, settings: Settings) -> None:
    """The log on stderr at LOG_LEVEL; for `chat`, in --log-file, else warnings and errors only
    (an INFO line would land inside an answer)."""
    secrets = secrets_of(settings)
    if args.command not in ("chat", "record"):
        setup_logging(settings.log_level, settings.log_format, secrets)
        return
    if args.log_file is not None:
        stream = args.log_file.expanduser().open("a", encoding="utf-8")  # open for the process
        setup_logging(settings.log_level, settings.log_format, secrets, stream=stream)
        return
    level = logging.getLevelName(settings.log_level.upper())
    if not isinstance(level, int):
        raise ValueError(settings.log_level)
    setup_logging(logging.getLevelName(max(level, logging.WARNING)), settings.log_format, secrets)


def run_async(main: Coroutine[Any, Any, None]) -> None:
    """Run `main` on uvloop where it is installed (every platform but Windows), else asyncio.

    Measured with bench/bench_load.py --users 50: 52 -> 48 ms of bot CPU per answered turn.
    """
    try:
        import uvloop
    except ImportError:  # pragma: no cover - Windows
        asyncio.run(main)
        return
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        runner.run(main)


def run_async_value(main: Coroutine[Any, Any, int]) -> int:
    """`run_async` for a coroutine whose result is the exit code."""
    result: list[int] = []

    async def keep() -> None:
        result.append(await main)

    run_async(keep())
    return result[0]


def run_checks(settings: Settings) -> int:
    """`fmbot check`: one line per check on stdout; 0 only if all pass, else 1."""
    from bot.checks import run_checks as checks
    from bot.wiring import tool_environment

    outcomes = []

    async def run() -> None:
        outcomes.extend(
            await checks(
                settings,
                support_chat_id=settings.support_chat_id,
                kb_folders=list(settings.kb_path),
                tools_environ=tool_environment(),
            )
        )

    run_async(run())
    for outcome in outcomes:
        print(outcome.line())
    failures = sum(not outcome.ok for outcome in outcomes)
    print(f"{len(outcomes) - failures} passed, {failures} failed")
    return 1 if failures else 0


async def _migrate(url: str, extra: Sequence[tuple[str, Path]] = ()) -> None:
    from bot.storage.database import current_revision, migrate

    await migrate(url, extra=extra)
    log.info("database %s is at revision %s", _safe_url(url), await current_revision(url))


def _safe_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


async def run_terminal_chat(
    settings: Settings,
    system_prompt: str,
    *,
    chat_id: int,
    model: str | None,
    history: Path | None = None,
    app: App | None = None,
    http: Any = None,
) -> None:
    """The terminal chat; `http`: the models' HTTP client (`record`'s recording one)."""
    from bot.terminal import TerminalChat
    from bot.wiring import core
    from bot.wiring.yandex_access import YandexAccess

    async with core(settings, system_prompt, app=app, http=http) as c:
        # A refused key, folder or model stops here, before the first question (exit 2).
        await YandexAccess(settings, c.client, c.chat_model).verify()
        if model is not None and model not in settings.text_models:
            log.warning(
                "model %s is not in TEXT_MODEL/ALLOWED_TEXT_MODELS; using it anyway", model
            )
        chat = TerminalChat(
            c.conversation, c.db.sessionmaker, chat_id=chat_id, model=model, history=history,
            tools=c.tools,
        )
        await chat.run()


async def _record(
    settings: Settings, system_prompt: str, args: argparse.Namespace, app: App
) -> None:
    """`fmbot record`: the terminal chat, its model traffic recorded (bot/recording.py)."""
    from bot.recording import Scrubber, recording_client

    scrubber = Scrubber(secrets_of(settings), settings.yandex_folder_id, args.chat_id)
    http, recorder = recording_client(scrubber)
    try:
        await run_terminal_chat(
            settings, system_prompt, chat_id=args.chat_id, model=args.model,
            history=args.history.expanduser(), app=app, http=http,
        )
    finally:
        await http.aclose()
        count = recorder.save(args.out)
        print(f"fmbot record: {count} model requests and responses written to {args.out}",
              file=sys.stderr)
