"""Vision's section of the settings (VISION_MODEL, MAX_IMAGE_MB): photos and screenshots
understood. A leaf: pydantic and the settings' parsing helpers only (bot/features/settings.py
composes it as `settings.vision`)."""

from __future__ import annotations

from pydantic import Field

from bot.plugin.config import Section


class VisionSettings(Section):
    """Photos and screenshots sent in chat: `model` empty means photos are answered "text
    only"."""

    # The model that answers photos and screenshots (OpenAI-compatible API, images as data:
    # URLs); empty = photos are answered "text only", as before.
    model: str = Field(default="gemma-3-27b-it/latest", validation_alias="VISION_MODEL")
    # Largest image taken, in MB (Telegram lets bots download at most 20 MB).
    max_image_mb: float = Field(default=10.0, gt=0, le=20, validation_alias="MAX_IMAGE_MB")

    @property
    def on(self) -> bool:
        return bool(self.model)
