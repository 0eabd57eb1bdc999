"""After the start-up warm-up, the answers every turn validates (sendMessage, editMessageText,
sendChatAction) build no pydantic schema when they come, even after a garbage collection; an
answer it did not warm (getMe's) does, so the probe can tell. A fresh interpreter: this test
process's models are built already."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest

PROBE = textwrap.dedent(
    """
    import gc, json
    import bot.telegram  # the lazy import, as the bot has it
    from aiogram import Bot
    from aiogram.client.session.aiohttp import AiohttpSession
    from aiogram.methods import EditMessageText, GetMe, SendChatAction, SendMessage
    from pydantic._internal._generate_schema import GenerateSchema
    from bot.telegram.warmup import warm_models

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
    warmed = len(built)
    me = {"id": 42, "is_bot": True, "first_name": "fmbot"}
    bot.session.check_response(bot, GetMe(), 200, json.dumps({"ok": True, "result": me}))
    print(json.dumps([warmed, len(built) - warmed]))
    """
)


@pytest.mark.slow
def test_warmed_answers_build_no_schema_and_a_cold_one_does() -> None:
    run = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True,
                         timeout=120)
    assert run.returncode == 0, run.stderr
    warmed, cold = json.loads(run.stdout.strip().splitlines()[-1])
    assert warmed == 0
    assert cold > 0
