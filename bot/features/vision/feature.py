"""Photos as one `Feature`: the vision model sees a question's images (VISION_MODEL), what
an image costs in the context is offered to the conversation, photos and albums are taken on
Telegram."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.features.vision.settings import VisionSettings
from bot.plugin.feature import CoreParts, Feature, ModelUse, TelegramParts

if TYPE_CHECKING:
    from bot.plugin.built import Built
    from bot.plugin.ground import Groundwork, TelegramGround
    from bot.plugin.settings import Settings


async def _build(ground: Groundwork, built: Built) -> CoreParts | None:
    from bot.features.vision.build import build_vision
    from bot.plugin.offers import ImageCost

    settings, files = ground.settings, ground.front.files
    photos = None
    area = settings.section(VisionSettings)
    if area.on and files is not None:  # photos from Telegram (VISION_MODEL)
        from bot.plugin.telegram import PhotoPreparer

        photos = PhotoPreparer(files, max_bytes=int(area.max_image_mb * 1024 * 1024))
        built.add("vision", photos)
    # The vision model sees earlier photos again, fetched from Telegram.
    vision = build_vision(ground, photos.fetch if photos is not None else None)
    if vision is None:
        return None
    from bot.features.vision.turn import VisionFeature

    built.add("vision", ImageCost(vision.image_tokens))
    return CoreParts(turn=[VisionFeature(vision)])


def _on_telegram(front: TelegramGround, built: Built) -> TelegramParts:
    from bot.features.vision.photos import PhotoSupport, photos_on_telegram
    from bot.plugin.telegram import PhotoPreparer

    photos = built.find(PhotoPreparer)
    max_mb = front.ground.settings.section(VisionSettings).max_image_mb
    return TelegramParts(part=photos_on_telegram(
        None if photos is None else PhotoSupport(photos, max_image_mb=max_mb)))


def _models(settings: Settings) -> list[ModelUse]:
    vision = settings.section(VisionSettings)
    return [ModelUse("VISION_MODEL", vision.model, "vision")] if vision.on else []


FEATURE = Feature(name="vision", models=_models, settings=VisionSettings,
                  tables=("bot.features.vision.models",), texts=("bot.features.vision.texts",),
                  build=_build,
                  on_telegram=_on_telegram)
