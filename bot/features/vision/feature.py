"""Photos as one `Feature`: the vision model sees a question's images (VISION_MODEL), what
an image costs in the context is offered to the conversation, photos and albums are taken on
Telegram."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.features.api.feature import CoreParts, Feature, TelegramParts
from bot.features.vision.settings import VisionSettings

if TYPE_CHECKING:
    from bot.features.api.built import Built
    from bot.features.api.ground import Groundwork, TelegramGround


async def _build(ground: Groundwork, built: Built) -> CoreParts | None:
    from bot.features.api.offers import ImageCost
    from bot.features.vision.build import build_vision

    vision = build_vision(ground, ground.front.fetch_image)
    if vision is None:
        return None
    from bot.features.vision.turn import VisionFeature

    built.add("vision", ImageCost(vision.image_tokens))
    return CoreParts(turn=[VisionFeature(vision)])


def _on_telegram(front: TelegramGround, built: Built) -> TelegramParts:
    from bot.features.vision.photos import PhotoSupport, photos_on_telegram

    photos = front.photos
    max_mb = front.ground.settings.vision.max_image_mb
    return TelegramParts(part=photos_on_telegram(
        None if photos is None else PhotoSupport(photos, max_image_mb=max_mb)))


FEATURE = Feature(name="vision", settings=VisionSettings,
                  tables=("bot.features.vision.models",), build=_build,
                  on_telegram=_on_telegram)
