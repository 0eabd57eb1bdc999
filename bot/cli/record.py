"""`fmbot record`: the terminal chat against the real Yandex API, every model request and
response written (credentials and user ids scrubbed) for `bot.testing.RecordedModel`
(bot/recording.py)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from bot.cli.chat import add_chat_options, run_terminal_chat
from bot.cli.factory import Factory, secrets_of
from bot.plugin.commands import Command, Subcommands


def add_parser(commands: Subcommands) -> list[argparse.ArgumentParser]:
    record = commands.add_parser(
        "record", help="chat in this terminal against the real Yandex API and write every "
        "model request and response (credentials and user ids scrubbed) to a JSON file for "
        "bot.testing.RecordedModel",
    )
    record.add_argument("--out", type=Path, required=True, help="the recording to write")
    add_chat_options(record)
    return [record]


async def run(factory: Factory, args: argparse.Namespace) -> int:
    from bot.recording import Scrubber, recording_client

    settings = factory.settings
    # The plugins' secrets too: a recording is shared as a test fixture.
    scrubber = Scrubber(secrets_of(settings, factory.features), settings.yandex_folder_id,
                        args.chat_id)
    http, recorder = recording_client(scrubber)
    try:
        await run_terminal_chat(
            factory, chat_id=args.chat_id, model=args.model,
            history=args.history.expanduser(), http=http,
        )
    finally:
        await http.aclose()
        count = recorder.save(args.out)
        print(f"fmbot record: {count} model requests and responses written to {args.out}",
              file=sys.stderr)
    return 0


command = Command("record", add_parser, run)
