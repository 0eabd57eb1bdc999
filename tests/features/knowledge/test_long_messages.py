"""A message of any length is answered with the knowledge base on: what is searched is bounded
within the embedding model's 2,000 input tokens (bot/features/knowledge/query.py), so the
kit's Yandex, which refuses more as Yandex does, never sees more; and a search that fails
anyway never fails the turn with "try again", which could not help."""

from __future__ import annotations

import datetime as dt

import pytest
from aiogram.types import Chat, Message, Update, User

from bot import App
from bot.testing import BotTester, ServiceModel
from bot.testing.yandex.payloads import EMBEDDING_MAX_TOKENS, embedding_tokens
from tests.features.knowledge.conftest import EMBEDDING, FIXTURE_KB, FIXTURE_MIN_SCORE

pytestmark = [pytest.mark.timeout(120)]
TRY_AGAIN = "Something went wrong while answering. Please try again."
NOT_FOUND = "I could not find this in our knowledge base."
CONTACT = "Write to help@example.com"
# 3,400 characters of Russian: about 2,100 tokens for the embedding models, over their limit.
SENTENCE = "Посылка пришла мятая, коробка порвана, а внутри всё разбито и залито водой. "
LONG = (SENTENCE * 50)[:3400]


def paste_part(tester: BotTester, user_id: int, text: str) -> Update:
    chat = Chat(id=user_id, type="private", first_name="Anna")
    return Update(update_id=tester.next_update_id(), message=Message(
        message_id=tester.telegram.next_message_id(user_id), date=dt.datetime.now(dt.UTC),
        chat=chat, from_user=User(id=user_id, is_bot=False, first_name="Anna"), text=text))


def query_embeddings(model: ServiceModel) -> list[tuple[int, int]]:
    """(status, the fake's token count) of each question's embedding request."""
    return [(r.status, embedding_tokens(r.json["text"])) for r in model.service.requests
            if r.path == EMBEDDING and "text-search-query" in r.json["modelUri"]]


@pytest.mark.parametrize("mode", ["assist", "strict"])
async def test_three_long_messages_are_answered_and_no_search_passes_the_limit(
    mode: str,
) -> None:
    assert embedding_tokens(LONG) > EMBEDDING_MAX_TOKENS  # the kit would refuse it whole
    model = ServiceModel()
    settings = {"KB_PATH": str(FIXTURE_KB), "KB_MODE": mode, "EMBEDDING_RPS": "200",
                "KB_MIN_SCORE": str(FIXTURE_MIN_SCORE), "KB_NOT_FOUND_CONTACT": CONTACT}
    async with BotTester(App(env_file=None), model=model, settings=settings) as tester:
        anna = tester.user("Anna")
        # Three messages one after the other, each answered...
        for number in range(3):
            reply = await anna.says(f"{number + 1}. {LONG}")
            assert reply.text, "answered"
            assert TRY_AGAIN not in reply.text
        # ...and a long paste Telegram split in three, answered as one question.
        parts = [paste_part(tester, anna.id, LONG) for _ in range(3)]
        pasted = await tester.exchange(anna.id, *parts)
        assert pasted.text
        assert TRY_AGAIN not in pasted.text
    searched = query_embeddings(model)
    assert len(searched) >= 4
    assert all(status == 200 and tokens <= EMBEDDING_MAX_TOKENS
               for status, tokens in searched), searched


async def test_a_failed_search_in_strict_mode_answers_not_found_with_the_next_step(
    caplog: pytest.LogCaptureFixture,
) -> None:
    model = ServiceModel()
    settings = {"KB_PATH": str(FIXTURE_KB), "KB_MODE": "strict", "EMBEDDING_RPS": "200",
                "KB_MIN_SCORE": str(FIXTURE_MIN_SCORE), "KB_NOT_FOUND_CONTACT": CONTACT}
    async with BotTester(App(env_file=None), model=model, settings=settings) as tester:
        model.service.fail_next(400, message="number of input tokens must be no more than "
                                "2000, got 2095", path="textEmbedding")
        reply = await tester.user("Anna").says("How long does standard delivery take?")
    assert reply.text.startswith(NOT_FOUND)
    assert CONTACT in reply.text
    assert any(r.levelname == "WARNING" and "knowledge base search failed" in r.getMessage()
               for r in caplog.records)


async def test_a_failed_search_in_assist_mode_answers_without_the_knowledge_base() -> None:
    model = ServiceModel()
    settings = {"KB_PATH": str(FIXTURE_KB), "KB_MODE": "assist", "EMBEDDING_RPS": "200"}
    async with BotTester(App(env_file=None), model=model, settings=settings) as tester:
        model.service.fail_next(400, message="bad request", path="textEmbedding")
        reply = await tester.user("Anna").says("How long does standard delivery take?")
    assert reply.text == "Echo: How long does standard delivery take?"
