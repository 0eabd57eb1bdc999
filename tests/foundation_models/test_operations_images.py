"""Deferred completions, the poller, YandexART and the concurrency limit, over real HTTP."""

from __future__ import annotations

import asyncio

import pytest

from bot.foundation_models import errors
from bot.foundation_models.client import FoundationModelsClient
from bot.foundation_models.operations import poll_until_done
from bot.foundation_models.transport import Timeouts
from bot.foundation_models.types import ChatMessage, ImageOptions, Operation, PollPolicy, Role
from bot.testing.yandex.payloads import REFUSAL
from tests.fakes.yandex.server import FakeFoundationModels
from tests.foundation_models.conftest import MakeClient, SleepRecorder

HELLO = [ChatMessage(Role.USER, "hello")]
FAST = PollPolicy(initial=0.001, max_interval=0.01, deadline=5)


async def test_completion_async_and_wait(
    fm: FakeFoundationModels, client: FoundationModelsClient
) -> None:
    fm.text_pending_polls = 2
    fm.queue_reply("deferred answer")
    op = await client.completion_async(HELLO, model="yandexgpt-lite")
    assert not op.done
    assert op.description == "Async GPT Completion"
    answer = await client.wait_for_completion(op.id, policy=FAST)
    assert answer.text == "deferred answer"
    assert fm.paths().count(f"/operations/{op.id}") == 3


async def test_poller_backs_off_to_a_cap(
    fm: FakeFoundationModels, client: FoundationModelsClient, sleeps: SleepRecorder
) -> None:
    fm.image_pending_polls = 6
    op = await client.start_image_generation("a red cat", model="yandex-art")
    policy = PollPolicy(initial=1.0, multiplier=2.0, max_interval=5.0, deadline=300)
    image = await client.wait_for_image(op.id, policy=policy)
    assert image.startswith(b"\xff\xd8\xff")
    assert image.endswith(b"\xff\xd9")
    assert sleeps.delays == [1.0, 2.0, 4.0, 5.0, 5.0, 5.0]


async def test_poller_deadline() -> None:
    clock = [0.0]
    slept: list[float] = []

    async def get(op_id: str) -> Operation:
        return Operation(id=op_id)

    async def sleep(delay: float) -> None:
        slept.append(delay)
        clock[0] += delay

    with pytest.raises(errors.OperationTimeoutError) as info:
        await poll_until_done(
            get,
            "op1",
            PollPolicy(initial=1, multiplier=2, max_interval=4, deadline=10),
            sleep=sleep,
            clock=lambda: clock[0],
        )
    assert info.value.operation_id == "op1"
    assert slept == [1, 2, 4, 3]  # the last sleep is cut to the deadline


async def test_image_request_shape_and_options(
    fm: FakeFoundationModels, client: FoundationModelsClient
) -> None:
    await client.start_image_generation(
        "succulents, top view",
        model="yandex-art/latest",
        options=ImageOptions(aspect_ratio=(2, 1), seed=1863),
    )
    body = fm.requests[-1].json
    assert body == {
        "modelUri": "art://b1gtestfolder/yandex-art/latest",
        "generationOptions": {
            "mimeType": "image/jpeg",
            "seed": "1863",
            "aspectRatio": {"widthRatio": "2", "heightRatio": "1"},
        },
        "messages": [{"text": "succulents, top view"}],
    }


async def test_long_prompt_rejected_before_sending(
    fm: FakeFoundationModels, client: FoundationModelsClient
) -> None:
    with pytest.raises(errors.InvalidRequestError, match="500"):
        await client.start_image_generation("x" * 501, model="yandex-art")
    await client.start_image_generation("x" * 500, model="yandex-art")
    assert fm.paths().count("/foundationModels/v1/imageGenerationAsync") == 1


async def test_refusal_at_submit(fm: FakeFoundationModels, client: FoundationModelsClient) -> None:
    fm.refuse_images = True
    with pytest.raises(errors.ImageRefusedError) as info:
        await client.start_image_generation("something forbidden", model="yandex-art")
    assert REFUSAL in info.value.reason
    assert info.value.code == 3


async def test_refusal_in_operation(
    fm: FakeFoundationModels, client: FoundationModelsClient
) -> None:
    fm.refuse_images_in_operation = True
    op = await client.start_image_generation("something forbidden", model="yandex-art")
    with pytest.raises(errors.ImageRefusedError) as info:
        await client.wait_for_image(op.id, policy=FAST)
    assert info.value.operation_id == op.id
    assert REFUSAL in info.value.reason


async def test_not_a_jpeg_and_cancel(
    fm: FakeFoundationModels, client: FoundationModelsClient
) -> None:
    fm.image_bytes = b"GIF89a not a jpeg"
    op = await client.start_image_generation("cat", model="yandex-art")
    with pytest.raises(errors.OperationFailedError, match="JPEG"):
        await client.wait_for_image(op.id, policy=FAST)
    op = await client.start_image_generation("dog", model="yandex-art")
    cancelled = await client.cancel_operation(op.id)
    assert cancelled.done
    assert cancelled.error is not None
    assert cancelled.error.code == 1
    assert fm.requests[-1].path == f"/operations/{op.id}:cancel"
    with pytest.raises(errors.OperationFailedError) as info:
        await client.wait_for_image(op.id, policy=FAST)
    assert not isinstance(info.value, errors.ImageRefusedError)
    assert info.value.code == 1
    with pytest.raises(errors.NotFoundError):
        await client.get_operation("nope")


async def test_concurrency_limit_queues_generations(
    fm: FakeFoundationModels, make_client: MakeClient
) -> None:
    client = make_client(max_concurrent_generations=2)

    async def one(i: int) -> tuple[str, float]:
        snaps = [s async for s in client.stream(HELLO, model="yandexgpt")]
        return snaps[-1].text, client.last_queue_wait

    for _ in range(5):
        fm.queue_reply("a b c d", chunks=4, interval=0.03)
    results = await asyncio.gather(*(one(i) for i in range(5)))
    assert fm.max_active_generations == 2
    assert all(text == "a b c d" for text, _ in results)
    assert max(wait for _, wait in results) >= 0.08


async def test_tokenizer_embeddings_classifiers(
    fm: FakeFoundationModels, client: FoundationModelsClient
) -> None:
    tokens = await client.tokenize("hello big world", model="yandexgpt-lite")
    assert [t.text for t in tokens if not t.special] == ["\u2581hello", "\u2581big", "\u2581world"]
    assert await client.count_tokens(HELLO, model="yandexgpt") == 3
    assert fm.requests[-1].path == "/foundationModels/v1/tokenizeCompletion"
    query = await client.embed("where", model="text-search-query")
    assert len(query) == 256
    assert fm.requests[-1].json["modelUri"] == "emb://b1gtestfolder/text-search-query/latest"
    predictions = await client.classify_few_shot(
        "set an alarm",
        labels=["alarm", "weather"],
        task_description="intent",
        samples=[("rain?", "weather")],
    )
    assert max(predictions, key=lambda p: p.confidence).label == "alarm"
    assert fm.requests[-1].json["modelUri"] == "cls://b1gtestfolder/yandexgpt-lite/latest"
    assert fm.requests[-1].json["samples"] == [{"text": "rain?", "label": "weather"}]


@pytest.mark.slow
async def test_raised_quota_streams_every_generation_at_once(
    fm: FakeFoundationModels, make_client: MakeClient
) -> None:
    """A quota above the old fixed pool of 100 connections: every generation streams at once
    (the pool follows the limiter), none waits for a connection."""
    # The suite's short timeouts (2 s) are for the tests of timeouts: here 130 connections open
    # at once beside a busy machine, and a slow first byte would be retried, taking a second
    # reply from the fake's queue. What this test proves is how many stream at once.
    client = make_client(
        max_concurrent_generations=130, timeouts=Timeouts(connect=30.0, first_byte=30.0, idle=30.0)
    )

    async def one() -> str:
        snaps = [s async for s in client.stream(HELLO, model="yandexgpt")]
        return snaps[-1].text

    for _ in range(130):
        fm.queue_reply("a b c d", chunks=4, interval=0.5)
    results = await asyncio.gather(*(one() for _ in range(130)))
    assert results == ["a b c d"] * 130
    # 130 when nothing lags; with 100 connections it could never pass 100
    assert fm.max_active_generations > 120
