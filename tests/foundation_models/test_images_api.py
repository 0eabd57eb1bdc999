"""The synchronous Images API (Alice AI ART) on the real client, over real HTTP to the fake."""

from __future__ import annotations

import base64

import pytest

from bot.foundation_models import errors
from bot.foundation_models.client import FoundationModelsClient
from bot.foundation_models.images_api import image_kind, uses_images_api
from bot.foundation_models.types import ImageOptions
from bot.testing.yandex.images import IMAGES_PATH
from tests.fakes.yandex.server import FakeFoundationModels
from tests.foundation_models.conftest import FOLDER

PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR4nGNgYGD4DwABBAEAwS2OUAAAAABJRU5ErkJggg=="
)


async def test_the_picture_is_the_answers_bytes_and_the_ratio_is_the_size(
    fm: FakeFoundationModels, client: FoundationModelsClient
) -> None:
    fm.images_api_bytes = PNG  # whatever Yandex sends is passed on as it is
    image = await client.generate_image("a red cat", model="aliceai-image-art-3.0",
                                        options=ImageOptions(aspect_ratio=(21, 9), seed=7))
    assert image == PNG
    assert image_kind(image) == "png"
    (sent,) = [r.json for r in fm.requests if r.path == IMAGES_PATH]
    assert sent == {"model": f"art://{FOLDER}/aliceai-image-art-3.0", "prompt": "a red cat",
                    "size": "21x9"}  # no seed: the Images API has none


async def test_a_refusal_is_image_refused_and_a_server_error_is_not_retried(
    fm: FakeFoundationModels, client: FoundationModelsClient
) -> None:
    fm.refuse_images = True
    with pytest.raises(errors.ImageRefusedError, match="terms of use"):
        await client.generate_image("forbidden", model="aliceai-image-art-3.0")
    fm.refuse_images = False
    fm.fail_next(503, path=IMAGES_PATH)
    with pytest.raises(errors.ServiceUnavailableError):
        await client.generate_image("a cat", model="aliceai-image-art-3.0")
    # Sent once: a second request would draw and bill another picture.
    assert sum(r.path == IMAGES_PATH for r in fm.requests) == 2


@pytest.mark.parametrize(("name", "sync"), [
    ("aliceai-image-art-3.0", True), ("art://f/aliceai-image-art-3.0", True),
    ("art://f/aliceai-image-art-3.0/latest", True), ("yandex-art/latest", False),
    ("art://f/yandex-art/latest", False), ("yandex-art-2.0", False),
])
def test_the_endpoint_is_chosen_by_the_model_name(name: str, sync: bool) -> None:
    assert uses_images_api(name) is sync


async def test_a_picture_over_telegrams_photo_limit_is_refused_unread(
    fm: FakeFoundationModels, client: FoundationModelsClient
) -> None:
    # A "JPEG" of 11 MB: sendPhoto takes at most 10 MB, and an answer of hundreds of MB once
    # cost the bot its size several times over to read and decode (issue 61, item 8).
    fm.images_api_bytes = b"\xff\xd8\xff" + bytes(11 * 1000 * 1000)
    with pytest.raises(errors.OperationFailedError, match="too long"):
        await client.generate_image("a huge cat", model="aliceai-image-art-3.0")
    # One just under the limit is still the picture.
    fm.images_api_bytes = b"\xff\xd8\xff" + bytes(9 * 1000 * 1000)
    image = await client.generate_image("a big cat", model="aliceai-image-art-3.0")
    assert len(image) == 9 * 1000 * 1000 + 3
