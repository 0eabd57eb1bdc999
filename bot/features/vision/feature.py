"""Photos as one `Feature`: the vision model sees a question's images (VISION_MODEL), what
an image costs in the context is offered to the conversation, photos and albums are taken on
Telegram."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.features.vision.settings import VisionSettings
from bot.plugin.feature import Feature, ModelUse

if TYPE_CHECKING:
    from bot.plugin.context import FeatureContext


async def lifespan(ctx: FeatureContext) -> None:
    """Photos and albums: the vision model (VISION_MODEL) in the turn, photos taken on
    Telegram."""
    area = ctx.section(VisionSettings)
    if area.on:
        ctx.model(ModelUse("VISION_MODEL", area.model, "vision"))
    ground = await ctx.core()
    from bot.features.vision.build import build_vision
    from bot.plugin.offers import ImageCost

    files, photos = ground.front.files, None
    if area.on and files is not None:  # photos from Telegram (VISION_MODEL)
        from bot.plugin.telegram import PhotoPreparer

        photos = PhotoPreparer(files, max_bytes=int(area.max_image_mb * 1024 * 1024))
        ctx.offer(photos)
    # The vision model sees earlier photos again, fetched from Telegram.
    vision = build_vision(ground, photos.fetch if photos is not None else None)
    if vision is not None:
        from bot.features.vision.turn import VisionFeature

        ctx.offer(ImageCost(vision.image_tokens))
        ctx.turn(VisionFeature(vision))
    front = await ctx.telegram()
    if front is None:
        return
    from bot.features.vision.photos import PhotoSupport, photos_on_telegram

    support = None if photos is None else PhotoSupport(photos, max_image_mb=area.max_image_mb)
    ctx.on_front(photos_on_telegram(front.parts, support))


FEATURE = Feature(name="vision", settings=VisionSettings, tables=("bot.features.vision.models",),
                  texts=("bot.features.vision.texts",), lifespan=lifespan)
