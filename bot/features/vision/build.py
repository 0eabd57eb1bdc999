"""Photos understood: the vision model (VISION_MODEL) built from its settings
(`settings.vision`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.features.vision.images import ImageSource, Vision
from bot.features.vision.settings import VisionSettings

if TYPE_CHECKING:
    from bot.plugin.ground import Groundwork


def build_vision(ground: Groundwork, fetch: ImageSource | None = None) -> Vision | None:
    """Photos: the vision model (None without VISION_MODEL); `fetch` gets earlier images
    again (from Telegram)."""
    from bot.plugin.clients import build_vision_model

    settings = ground.settings
    if not settings.section(VisionSettings).on:
        return None
    model = build_vision_model(settings, ground.chat_model, ground.auth, ground.stack,
                               ground.http)
    return Vision(model, settings.section(VisionSettings).model, fetch=fetch)
