"""/image as one `Feature`: YandexART pictures as durable jobs (the service, built on the
core so that the terminal and the command line reach it too) and their delivery on
Telegram."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.plugin.feature import CoreParts, Feature, TelegramParts

if TYPE_CHECKING:
    from bot.plugin.built import Built
    from bot.plugin.ground import Groundwork, TelegramGround
    from bot.plugin.setup import FeatureSetup


def _setup(setup: FeatureSetup) -> None:
    # /image in Telegram's command menu (and /help, unless its own line says more).
    setup.command("image", "Draw a picture", ru="Нарисовать картинку")


async def _build(ground: Groundwork, built: Built) -> CoreParts | None:
    from bot.features.images.build import build_images

    built.add("images", build_images(ground))
    return None


def _on_telegram(front: TelegramGround, built: Built) -> TelegramParts:
    from bot.features.images.service import ImageService
    from bot.features.images.telegram import images_on_telegram

    # DAILY_IMAGE_LIMIT: /image's budget and its /stats line.
    limit = front.ground.settings.daily_image_limit
    return TelegramParts(part=images_on_telegram(built.need(ImageService, by="images"),
                                                 daily_limit=limit))


FEATURE = Feature(name="images", tables=("bot.features.images.models",),
                  texts=("bot.features.images.texts",), setup=_setup, build=_build,
                  on_telegram=_on_telegram)
