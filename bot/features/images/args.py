"""Parse `/image [W:H] [seed=N] <prompt>` with errors a user can act on."""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.plugin.models import ImageOptions
from bot.plugin.telegram import Translator

ALLOWED_RATIOS: tuple[tuple[int, int], ...] = (
    (1, 1), (16, 9), (9, 16), (4, 3), (3, 4), (3, 2), (2, 3), (2, 1), (1, 2), (21, 9), (9, 21),
)
MAX_SEED = 2**63 - 1
_RATIO = re.compile(r"^(\d{1,3})[:x×](\d{1,3})$")
_SEED = re.compile(r"^seed=(.*)$", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class ImageRequest:
    prompt: str
    options: ImageOptions


class ImageArgsError(ValueError):
    """`key` and `values` name the text (texts.py) that explains the problem."""

    def __init__(self, key: str, **values: object) -> None:
        super().__init__(key)
        self.key = key
        self.values = values

    def explain(self, t: Translator) -> str:
        return t(self.key, **self.values)


def _ratio_names() -> str:
    return ", ".join(f"{w}:{h}" for w, h in ALLOWED_RATIOS)


def parse_image_args(args: str, max_prompt: int = 500) -> ImageRequest:
    """Options may come first (`16:9`, `seed=42`, in any order); `seed=N` may also end the
    prompt. Everything else is the prompt, with the user's own spacing and line breaks."""
    words = list(re.finditer(r"\S+", args))
    ratio: tuple[int, int] | None = None
    seed: int | None = None

    def take_option(word: str) -> bool:
        nonlocal ratio, seed
        if (m := _RATIO.match(word)) and ratio is None:
            pair = (int(m[1]), int(m[2]))
            if pair not in ALLOWED_RATIOS:
                raise ImageArgsError("image_bad_ratio", ratio=word, allowed=_ratio_names())
            ratio = pair
            return True
        if (m := _SEED.match(word)) and seed is None:
            raw = m[1]
            if not raw.isdigit() or int(raw) > MAX_SEED:
                raise ImageArgsError("image_bad_seed", seed=raw or "''", limit=MAX_SEED)
            seed = int(raw)
            return True
        return False

    while words and take_option(words[0][0]):
        words.pop(0)
    if words and _SEED.match(words[-1][0]) and take_option(words[-1][0]):
        words.pop()
    prompt = args[words[0].start() : words[-1].end()] if words else ""
    if not prompt:
        raise ImageArgsError("image_usage")
    if len(prompt) > max_prompt:
        raise ImageArgsError("image_too_long", length=len(prompt), limit=max_prompt)
    return ImageRequest(prompt, ImageOptions(aspect_ratio=ratio or (1, 1), seed=seed))
