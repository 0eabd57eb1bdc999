"""Build, before the first update, the aiogram models that every turn's first steps use.

The answers to the calls every turn makes: aiogram validates each with ``Response[T]``, a
generic model whose schema pydantic builds for each ``T`` on its first validation, nested
models and all, without reusing the ones built for ``Update`` (0.09 s of CPU for
``Response[Message]``, 0.11 s for ``Response[Message | bool]`` from ``editMessageText``). A
webhook replica makes no getUpdates call, and every replica built them on its first answers:
py-spy over `bench_load.py --replicas 3` found 5% of the replicas' CPU there. Built here and
kept alive (responsetypes.py), they cost a dictionary lookup when the first answer comes.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from aiogram.methods import EditMessageText, SendChatAction, SendMessage, TelegramMethod
from aiogram.types import Update

from bot.telegram.responsetypes import pinned

log = logging.getLogger(__name__)

_SAMPLE = {
    "update_id": 1,
    "message": {
        "message_id": 1,
        "date": 1700000000,
        "chat": {"id": -1, "type": "supergroup", "title": "warm-up", "is_forum": True},
        "from": {"id": 1, "is_bot": False, "first_name": "A", "language_code": "en"},
        "message_thread_id": 1,
        "reply_to_message": {
            "message_id": 0,
            "date": 1700000000,
            "chat": {"id": -1, "type": "supergroup", "title": "warm-up"},
            "text": "x",
        },
        "text": "@bot hi",
        "entities": [{"type": "mention", "offset": 0, "length": 4}],
    },
}
_SENT = {"message_id": 2, "date": 1700000000, "chat": {"id": 1, "type": "private"}, "text": "x"}


def warm_models() -> None:
    """Build the models of an incoming message and of the calls that answer it."""
    started = time.process_time()
    update = Update.model_validate(_SAMPLE)
    update.model_dump_json(by_alias=True, exclude_unset=True)
    methods: tuple[TelegramMethod[Any], ...] = (
        SendMessage(chat_id=1, text="x", reply_to_message_id=1),
        EditMessageText(chat_id=1, message_id=1, text="x"),
        SendChatAction(chat_id=1, action="typing"),
    )
    for method in methods:
        method.model_dump(warnings=False)
        answer = True if method.__returning__ is bool else _SENT
        pinned(method.__returning__).model_validate({"ok": True, "result": answer})
    log.debug("aiogram models warmed in %.0f ms", 1000 * (time.process_time() - started))
