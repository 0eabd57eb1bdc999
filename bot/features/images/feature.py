"""/image as one `Feature`: YandexART pictures as durable jobs (the service, built on the
core so that the terminal and the command line reach it too) and their delivery on
Telegram."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.plugin.feature import Feature

if TYPE_CHECKING:
    from bot.plugin.context import FeatureContext


async def lifespan(ctx: FeatureContext) -> None:
    """/image: in the menu; its service on the core; its command and /stats line on
    Telegram."""
    # /image in Telegram's command menu (and /help, unless its own line says more).
    ctx.command("image", "Draw a picture", ru="Нарисовать картинку")
    ground = await ctx.core()
    from bot.features.images.build import build_images

    images = build_images(ground)
    ctx.offer(images)
    front = await ctx.telegram()
    if front is None:
        return
    from bot.features.images.telegram import images_on_telegram

    # DAILY_IMAGE_LIMIT: /image's budget and its /stats line.
    ctx.on_front(images_on_telegram(front.parts, images,
                                    daily_limit=ground.settings.daily_image_limit))


FEATURE = Feature(name="images", tables=("bot.features.images.models",),
                  texts=("bot.features.images.texts",), lifespan=lifespan)
