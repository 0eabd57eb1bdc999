"""Images in the conversation core (issue 28): stored by file id, shown to the vision model,
shown again to follow-ups (the latest few), older ones named, text turns left with the text
model. The vision model is the real OpenAI-compatible client against the fake server."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from typing import Any

import pytest
from PIL import Image

from bot.conversation import ConversationService
from bot.conversation.types import ImageInput
from bot.features.vision.images import Vision
from bot.features.vision.store import StoredImage
from bot.features.vision.turn import VisionFeature
from bot.foundation_models.auth import ApiKeyAuth
from bot.foundation_models.client import FoundationModelsClient
from bot.foundation_models.errors import InvalidRequestError
from bot.foundation_models.openai_compat import OpenAICompatibleChatModel
from bot.prompting import estimate_tokens
from bot.storage.database import Database
from bot.storage.models import MessageStatus
from tests.conversation.conftest import ANNA, API_KEY, FOLDER, PRIVATE, make_service
from tests.fakes.yandex.server import FakeFoundationModels
from tests.features.tools.tool_doubles import ShopSource, tool_loop

CHAT = "/v1/chat/completions"


def photo(shade: int, size: tuple[int, int] = (64, 48)) -> ImageInput:
    out = io.BytesIO()
    Image.new("RGB", size, (shade, shade, shade)).save(out, "JPEG", quality=95)
    return ImageInput(f"file-{shade}", f"u-{shade}", out.getvalue(), *size)


class TelegramFiles:
    """Stands in for Telegram holding the files (the core's ImageSource): by file id."""

    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}
        self.fetched: list[str] = []

    async def __call__(self, image: StoredImage) -> bytes:
        self.fetched.append(image.file_id)
        if image.file_id not in self.files:
            raise LookupError("expired")
        return self.files[image.file_id]


@pytest.fixture
async def vision_model(fm: FakeFoundationModels) -> AsyncIterator[OpenAICompatibleChatModel]:
    async with OpenAICompatibleChatModel(
        base_url=fm.url + "/v1", auth=ApiKeyAuth(API_KEY), folder_id=FOLDER
    ) as model:
        yield model


@pytest.fixture
def files() -> TelegramFiles:
    return TelegramFiles()


@pytest.fixture
def seeing(
    database: Database,
    client: FoundationModelsClient,
    vision_model: OpenAICompatibleChatModel,
    files: TelegramFiles,
) -> ConversationService:
    vision = Vision(vision_model, "gemma-3-27b-it/latest", fetch=files, max_images=2)
    return make_service(database, client, vision=vision)


def chat_requests(fm: FakeFoundationModels) -> list[dict[str, Any]]:
    return [r.json for r in fm.requests if r.path == CHAT]


def shades(images: list[Image.Image]) -> list[int]:
    return [round(sum(i.getpixel((5, 5))) / 3) for i in images]


async def test_images_are_answered_by_the_vision_model_and_stored_by_file_id(
    seeing: ConversationService, fm: FakeFoundationModels, database: Database
) -> None:
    result = await seeing.run_turn(PRIVATE, ANNA, "what is this?", images=[photo(30)])
    assert result.status is MessageStatus.COMPLETE
    assert result.model == "gemma-3-27b-it/latest"
    assert "[image 64x48]" in result.text
    [request] = chat_requests(fm)
    assert request["model"] == f"gpt://{FOLDER}/gemma-3-27b-it/latest"
    assert shades(fm.images_received[0]) == [pytest.approx(30, abs=3)]
    async with database.sessionmaker() as session:
        from sqlalchemy import text

        rows = (await session.execute(text(
            "SELECT m.text, m.token_count, i.file_id, i.token_count FROM message_images i "
            "JOIN messages m ON m.id = i.message_id"
        ))).all()
    tokens = 256 + estimate_tokens("what is this?")
    assert [tuple(r) for r in rows] == [("what is this?", tokens, "file-30", 256)]


async def test_follow_ups_see_the_latest_images_again_and_older_ones_are_named(
    seeing: ConversationService, fm: FakeFoundationModels, files: TelegramFiles
) -> None:
    for shade in (10, 80, 150):
        image = photo(shade)
        files.files[image.file_id] = image.jpeg
        await seeing.run_turn(PRIVATE, ANNA, f"photo {shade}", images=[image])
    files.files.pop("file-80")  # expired at Telegram: named, not sent
    files.fetched.clear()
    result = await seeing.run_turn(PRIVATE, ANNA, "and what is the error code?")
    assert result.model == "gemma-3-27b-it/latest"
    last = chat_requests(fm)[-1]["messages"]
    history = [m["content"] for m in last if m["role"] == "user"][:-1]
    assert history == ["[photo] photo 10", "[photo] photo 80", "[photo] photo 150"]
    question = last[-1]["content"]
    assert question[0]["type"] == "text"
    assert "attached again" in question[0]["text"]
    assert question[0]["text"].endswith("and what is the error code?")
    # max_images=2 of the latest questions: 80 (expired, left out) and 150.
    assert files.fetched == ["file-80", "file-150"]
    assert shades(fm.images_received[-1]) == [pytest.approx(150, abs=3)]


async def test_text_turns_stay_with_the_text_model_and_skip_the_image_query_after(
    seeing: ConversationService, fm: FakeFoundationModels
) -> None:
    first = await seeing.run_turn(PRIVATE, ANNA, "hello")
    assert first.model == "yandexgpt-lite"
    assert chat_requests(fm) == []
    seen = next(f for f in seeing.features if isinstance(f, VisionFeature)).seen
    assert seen.imageless, "a conversation seen without images is remembered"
    await seeing.run_turn(PRIVATE, ANNA, "look", images=[photo(200)])
    assert not seen.imageless, "storing an image forgets that"
    assert len(chat_requests(fm)) == 1


async def test_retry_of_a_photo_question_shows_its_image_again(
    seeing: ConversationService, fm: FakeFoundationModels, files: TelegramFiles
) -> None:
    image = photo(120)
    files.files[image.file_id] = image.jpeg
    await seeing.run_turn(PRIVATE, ANNA, "what is broken?", images=[image])
    again = await seeing.retry_last(PRIVATE, ANNA)
    assert again is not None
    assert again.model == "gemma-3-27b-it/latest"
    assert "[image 64x48]" in again.text
    assert files.fetched == ["file-120"]


@pytest.mark.slow
async def test_a_vision_failure_is_a_failed_answer_not_a_raise(
    seeing: ConversationService, fm: FakeFoundationModels
) -> None:
    fm.fail_next(500, path=CHAT, times=5)
    result = await seeing.run_turn(PRIVATE, ANNA, "what is this?", images=[photo(60)])
    assert result.status is MessageStatus.FAILED
    assert result.error is not None


async def test_images_without_a_vision_model_are_refused(
    database: Database, client: FoundationModelsClient
) -> None:
    plain = make_service(database, client)
    with pytest.raises(InvalidRequestError):
        await plain.run_turn(PRIVATE, ANNA, "x", images=[photo(1)])


async def test_a_turn_that_shows_a_screenshot_keeps_the_chats_tools(
    database: Database,
    client: FoundationModelsClient,
    vision_model: OpenAICompatibleChatModel,
    files: TelegramFiles,
    fm: FakeFoundationModels,
) -> None:
    """"What is the status of the order in this screenshot?" is looked up: the vision model
    (Gemma 3 calls functions on the OpenAI-compatible API) is offered the tools, on the photo's
    turn and on the follow-ups that show it again. Before, those turns went without tools."""
    vision = Vision(vision_model, "gemma-3-27b-it/latest", fetch=files, max_images=2)
    source = ShopSource()
    service = make_service(database, client, vision=vision,
                           tools=tool_loop(database, vision_model, source))
    shot = photo(90)
    files.files[shot.file_id] = shot.jpeg
    fm.queue_reply("Let me look.", tool_calls=[
        {"name": "order_status", "arguments": {"order_id": "A-1042"}}
    ])
    fm.queue_reply("Order A-1042 has shipped.")
    result = await service.run_turn(
        PRIVATE, ANNA, "what is the status of the order in this screenshot?", images=[shot]
    )
    assert result.status is MessageStatus.COMPLETE
    assert result.text.endswith("Order A-1042 has shipped.")
    assert [c.arguments for c in source.calls] == [{"order_id": "A-1042"}]
    first, second = chat_requests(fm)
    assert first["model"] == f"gpt://{FOLDER}/gemma-3-27b-it/latest"
    assert [t["function"]["name"] for t in first["tools"]] == ["order_status", "open_ticket"]
    assert shades(fm.images_received[0]) == [pytest.approx(90, abs=3)]
    assert any(m.get("role") == "tool" for m in second["messages"])
    # A follow-up shows the screenshot again, and still has the tools.
    fm.queue_reply("It was sent on Monday.")
    follow = await service.run_turn(PRIVATE, ANNA, "when was it sent?")
    assert follow.model == "gemma-3-27b-it/latest"
    assert "tools" in chat_requests(fm)[-1]
