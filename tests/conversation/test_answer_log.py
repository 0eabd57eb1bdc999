"""`run` logs one INFO line per answer: model, tokens, latency; never the texts (issue 27,
item 12b)."""

from __future__ import annotations

import logging
import re

import pytest

from bot.foundation_models.client import FoundationModelsClient
from bot.storage.database import Database
from tests.conversation.conftest import ANNA, PRIVATE, make_service
from tests.fakes.yandex.server import FakeFoundationModels

QUESTION = "What is my secret plan for Tuesday?"
ANSWER = "Your secret plan is to rest."


async def test_one_info_line_per_answer_with_model_tokens_and_latency(
    database: Database, client: FoundationModelsClient, fm: FakeFoundationModels,
    caplog: pytest.LogCaptureFixture,
) -> None:
    service = make_service(database, client)
    fm.queue_reply(ANSWER)
    with caplog.at_level(logging.INFO, logger="bot.conversation"):
        result = await service.run_turn(PRIVATE, ANNA, QUESTION)
    lines = [r.getMessage() for r in caplog.records
             if r.name.startswith("bot.conversation") and r.levelno == logging.INFO]
    assert len(lines) == 1
    usage = result.usage
    assert usage is not None
    assert re.fullmatch(
        rf"answer {result.message_id} in chat {PRIVATE.chat_id}: complete, model yandexgpt-lite, "
        rf"{usage.input_tokens} in \+ {usage.completion_tokens} out tokens, \d+\.\d\d s",
        lines[0],
    ), lines[0]
    everything = "\n".join(r.getMessage() for r in caplog.records)
    assert "secret" not in everything
