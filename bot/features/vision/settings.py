"""Vision's section of the settings (VISION_MODEL, MAX_IMAGE_MB): photos and screenshots
understood. A leaf: pydantic only (bot/features/settings.py composes it)."""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import Field
from pydantic_settings import BaseSettings


@dataclass(frozen=True, slots=True)
class VisionArea:
    """Vision's settings: `model` empty means photos are answered "text only"."""

    model: str
    max_image_mb: float

    @property
    def on(self) -> bool:
        return bool(self.model)


class VisionSettings(BaseSettings):
    """Photos and screenshots sent in chat."""

    # The model that answers photos and screenshots (OpenAI-compatible API, images as data:
    # URLs); empty = photos are answered "text only", as before.
    vision_model: str = "gemma-3-27b-it/latest"
    # Largest image taken, in MB (Telegram lets bots download at most 20 MB).
    max_image_mb: float = Field(default=10.0, gt=0, le=20)

    @property
    def vision(self) -> VisionArea:
        """Vision's settings as one value."""
        return VisionArea(model=self.vision_model, max_image_mb=self.max_image_mb)
