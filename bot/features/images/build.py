"""Image generation (/image) built from Settings: the image model and its asynchronous
jobs."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.features.images.service import ImageService
from bot.plugin.models import PollPolicy

if TYPE_CHECKING:
    from bot.plugin.ground import Groundwork


def build_images(ground: Groundwork) -> ImageService:
    """The image service on IMAGE_MODEL."""
    return ImageService(
        sessionmaker=ground.db.sessionmaker,
        model=ground.client,
        image_model=ground.settings.image_model,
        policy=PollPolicy(),
    )
