"""The synchronous Images API (Alice AI ART) on the real client, over real HTTP to the fake."""

from __future__ import annotations

import base64

import pytest

from bot.foundation_models import errors
from bot.foundation_models.client import FoundationModelsClient
from bot.foundation_models.images_api import image_kind, uses_images_api
from bot.foundation_models.types import ImageOptions
from tests.fakes.fm_images import IMAGES_PATH
from tests.fakes.foundation_models_server import FakeFoundationModels
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
