"""Model Markdown -> Telegram text + entities, and splitting at Telegram's length limit."""

from __future__ import annotations

from bot.telegram.render.markdown import render_markdown
from bot.telegram.render.split import split_rendered
from bot.telegram.render.text import TELEGRAM_TEXT_LIMIT, RenderedText, utf16_len

__all__ = ["TELEGRAM_TEXT_LIMIT", "RenderedText", "render_markdown", "split_rendered", "utf16_len"]
