"""The commands of an `App`: `run | migrate | chat | record | kb | insights | tools | report |
eval | new | check`, parsed and run for the App that entry.py loaded (`--app`) or `App.run()` was
called on; `FMBOT_PLUGINS` sets up installed plugins either way. `COMMANDS` is the table: one
module of this package per command, each declaring its parser and its body (factory.py).

Settings are read and checked before anything else starts (bot/wiring/preflight.py, which `check`
uses too), so missing or bad settings end the process at once with one line per problem, each
naming the variable to set (exit code 2). A database migrated by a newer fmbot is refused with
exit code 3.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

from bot.cli.chat import command as chat_command
from bot.cli.check import command as check_command
from bot.cli.factory import Factory, run_async_value, secrets_of
from bot.cli.migrate import command as migrate_command
from bot.cli.new import command as new_command
from bot.cli.record import command as record_command
from bot.cli.report import command as report_command
from bot.cli.run import command as run_command
from bot.cli.settings import command as settings_command
from bot.collector import pause_collector, resume_collector
from bot.config import ConfigError
from bot.features.installed import FEATURES, bot_features
from bot.features.settings import Settings
from bot.log import Scrubber, setup_logging
from bot.plugin.commands import Command

if TYPE_CHECKING:
    from bot.app.parts import AppParts
    from bot.plugin.feature import Feature

log = logging.getLogger("bot")

EXIT_CONFIG = 2
EXIT_SCHEMA = 3

# The core's commands, before and after the features' own in `fmbot --help`.
_CORE_FIRST: list[Command[Factory]] = [run_command, migrate_command, chat_command,
                                       record_command]
_CORE_LAST: list[Command[Factory]] = [report_command, new_command, check_command,
                                      settings_command]


def command_table(features: Sequence[Feature]) -> dict[str, Command[Factory]]:
    """Every command of a bot with `features` (the one list: fmbot's, then its plugins'), in
    the order `fmbot --help` lists them: the core's, each feature's own (`kb`, the desk's
    `insights`, `tools`, `eval`, a plugin's), then the core's last. A feature's command named
    as one already there is refused, naming the feature."""
    table = {command.name: command for command in _CORE_FIRST}
    last = {command.name for command in _CORE_LAST}
    for feature in features:
        for command in feature.commands():
            if command.name in table or command.name in last:
                raise ConfigError(
                    f"feature {feature.name!r}: an fmbot command named {command.name!r} "
                    "exists already")
            table[command.name] = command
    table.update((command.name, command) for command in _CORE_LAST)
    return table


#: fmbot's own commands, its features' included (the App's and plugins' join:
#: `added_commands`).
COMMANDS: dict[str, Command[Factory]] = command_table(FEATURES)


def parser(
    extra: Sequence[Command[Factory]] = (),
) -> argparse.ArgumentParser:
    """fmbot's commands, then `extra` (the App's and its plugins' features' own)."""
    parser = argparse.ArgumentParser(
        prog="fmbot",
        description="Telegram chatbot on Yandex Cloud Foundation Models. "
        "Configuration comes from the environment and .env (see .env.example).",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    every = [*COMMANDS.values(), *extra]
    takes_app = [sub for command in every for sub in command.add_parser(commands)]
    # Read before argparse (entry.py); declared here so that every --help shows it.
    for sub in takes_app:
        sub.add_argument(
            "--app",
            metavar="MODULE:ATTR",
            default=argparse.SUPPRESS,
            help="run the fmbot.App named so (e.g. mybot:app) instead of the plain bot",
        )
    return parser


def added_commands(app: AppParts) -> dict[str, Command[Factory]]:
    """The commands of the features the App added (`App.add_feature`, its plugins'), from the
    bot's one command table: a name fmbot's own commands have is refused, naming the
    feature."""
    table = command_table(bot_features(app.features))
    return {name: command for name, command in table.items() if name not in COMMANDS}


def _command_word(argv: Sequence[str]) -> str | None:
    """The line's command (its first word that is not an option), None when it has none."""
    return next((word for word in argv if not word.startswith("-")), None)


def _plugins_first(app: AppParts, argv: Sequence[str]) -> None:
    """Set the plugins of FMBOT_PLUGINS up before the line is parsed when it names a command
    that is not fmbot's own (a plugin's feature may ship it) or asks for the list of
    commands (`fmbot --help`). fmbot's own commands set them up after their checks. Settings
    that cannot be read are left for the command's checks (or, for --help, to `fmbot
    check`): the line is then parsed with the commands known without the plugins."""
    word = _command_word(argv)
    if word in COMMANDS or (word is None and not {"-h", "--help"} & set(argv)):
        return
    try:
        app.use_plugins(app.settings.fmbot_plugins)
    except ConfigError:
        if word is not None and word not in added_commands(app):
            raise


def _check(command: str, settings: Settings, app: AppParts) -> str:
    """Check what `command` needs (every problem at once), with the checks of the bot's
    features known so far (fmbot's, and those the App added); returns the resolved system
    prompt. `check` validates the same way, in its own lines."""
    from bot.wiring.preflight import validate

    if command != "check":
        validate(settings, command, bot_features(app.features))
    if command in ("run", "chat", "record", "eval"):
        return settings.resolved_system_prompt()
    return ""


def _fail(exc: Exception) -> None:
    """One line per problem, each prefixed as the shell expects of a command's error."""
    for line in str(exc).splitlines() or [""]:
        print(f"fmbot: {line}", file=sys.stderr)


def run_app(app: AppParts, argv: Sequence[str]) -> int:
    """Run a command line (without `--app`) for `app`: the process is the bot's (`fmbot`,
    `App.run()`), so it may tune what is the process's: the garbage collector is paused
    while the command starts (bot/collector.py)."""
    with pause_collector():
        return _run_app(app, argv)


def _run_app(app: AppParts, argv: Sequence[str]) -> int:
    # Before numpy loads (the knowledge base imports it when it starts): a product of
    # 10,000 x 256 floats by one vector takes well under a millisecond on one core, while
    # OpenBLAS's threads only fight the event loop for the CPU (bench_kb.py on a busy 2-core
    # VM: vector search p50 10 ms threaded; docs/knowledge-base.md). An embedding program
    # (`async with app`) keeps its own setting.
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    try:
        _plugins_first(app, argv)
        extra = added_commands(app)
    except ConfigError as exc:
        _fail(exc)
        return EXIT_CONFIG
    args = parser(list(extra.values())).parse_args(argv)
    command = COMMANDS.get(args.command) or extra[args.command]
    try:
        settings = app.settings
        system_prompt = _check(args.command, settings, app)
    except ConfigError as exc:
        _fail(exc)
        return EXIT_CONFIG
    try:
        scrubber = _logging_for(args, settings, app)
    except OSError as exc:
        print(f"fmbot: --log-file: cannot write {args.log_file}: {exc.strerror}", file=sys.stderr)
        return EXIT_CONFIG
    except ValueError:
        print(f"fmbot: LOG_LEVEL: unknown level {settings.log_level!r}", file=sys.stderr)
        return EXIT_CONFIG

    for line in settings.no_effect():
        log.warning("%s", line)

    from bot.storage.migrations import SchemaTooNewError

    try:
        # Plugins after the checks (a missing token is named before a plugin's setting) and
        # the logging set-up (their set-up is logged).
        # (A plugin set up before the line was parsed is not set up again.)
        checked = len(app.features)
        app.use_plugins(settings.fmbot_plugins)
        # Composed again with the plugins' sections, each validated (a line per variable).
        settings = app.settings
        added_commands(app)  # a plugin's command named as one of fmbot's is refused
        if args.command != "check":  # `check` runs them among its lines
            # The plugins' features' checks of their settings, as `_check` ran the others'.
            from bot.wiring.preflight import validate_features

            validate_features(settings, args.command, app.features[checked:])
        # The plugins' features' secrets join the log's scrubber once they are known (a line
        # a plugin logs while it sets up comes before its Feature, so before its secrets).
        from bot.plugin.lifespan import declared

        scrubber.add(declared(app.features, settings).secrets)
        factory = Factory(app, settings, system_prompt)
        if args.command != "run":  # `run` takes the collector back once it has started
            resume_collector()
        return run_async_value(command.run(factory, args))
    except SchemaTooNewError as exc:
        print(f"fmbot: {exc}", file=sys.stderr)
        return EXIT_SCHEMA
    except ConfigError as exc:
        _fail(exc)
        return EXIT_CONFIG
    except KeyboardInterrupt:
        return 130


def _logging_for(args: argparse.Namespace, settings: Settings, app: AppParts) -> Scrubber:
    """The log on stderr at LOG_LEVEL; for `chat`, in --log-file, else warnings and errors only
    (an INFO line would land inside an answer). Its scrubber hides fmbot's secrets and those
    of the features the App added; it is returned for the plugins' features' to join."""
    secrets = secrets_of(settings, bot_features(app.features))
    if args.command not in ("chat", "record"):
        return setup_logging(settings.log_level, settings.log_format, secrets)
    if args.log_file is not None:
        stream = args.log_file.expanduser().open("a", encoding="utf-8")  # open for the process
        return setup_logging(settings.log_level, settings.log_format, secrets, stream=stream)
    level = logging.getLevelName(settings.log_level.upper())
    if not isinstance(level, int):
        raise ValueError(settings.log_level)
    return setup_logging(logging.getLevelName(max(level, logging.WARNING)),
                         settings.log_format, secrets)
