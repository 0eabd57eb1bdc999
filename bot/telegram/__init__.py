"""The Telegram layer (aiogram 3). Importing it imports aiogram with lazily built models
(see `bot.telegram.lazy_models`), so every entry point gets the saving."""

from bot.telegram.lazy_models import import_aiogram

import_aiogram()
