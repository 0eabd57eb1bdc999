"""After the start-up warm-up, the answers every turn validates (sendMessage, editMessageText,
sendChatAction) build no pydantic schema when they come, even after a garbage collection; without
it they do (so the probe can tell). A fresh interpreter: this test process's models are built."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

PROBE = textwrap.dedent(
    """
    import gc, json, sys
    import bot.telegram  # the lazy import, as the bot has it
    from aiogram import Bot
    from aiogram.client.session.aiohttp import AiohttpSession
    from aiogram.methods import EditMessageText, SendChatAction, SendMessage
    from pydantic._internal._generate_schema import GenerateSchema
    from bot.telegram.warmup import warm_models

    if sys.argv[1] == "warm":
        warm_models()
    gc.collect()
    built = []
    original = GenerateSchema.generate_schema

    def counting(self, obj, *args, **kwargs):
        built.append(repr(obj))
        return original(self, obj, *args, **kwargs)

    GenerateSchema.generate_schema = counting
    bot = Bot("42:TEST", session=AiohttpSession())
    sent = {"message_id": 3, "date": 1700000000, "chat": {"id": 5, "type": "private"},
            "text": "hello"}
    for method, result in (
        (SendMessage(chat_id=5, text="hello"), sent),
        (EditMessageText(chat_id=5, message_id=3, text="hello"), sent),
        (EditMessageText(chat_id=5, message_id=3, text="hello"), True),
        (SendChatAction(chat_id=5, action="typing"), True),
    ):
        answer = json.dumps({"ok": True, "result": result})
        bot.session.check_response(bot, method, 200, answer)
    print(json.dumps(len(built)))
    """
)


def schemas_built(mode: str) -> int:
    run = subprocess.run(
        [sys.executable, "-c", PROBE, mode], capture_output=True, text=True, timeout=120
    )
    assert run.returncode == 0, run.stderr
    return int(json.loads(run.stdout.strip().splitlines()[-1]))


def test_warmed_answers_build_no_schema_and_cold_ones_do() -> None:
    assert schemas_built("warm") == 0
    assert schemas_built("cold") > 0
