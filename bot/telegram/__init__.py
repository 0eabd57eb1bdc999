"""The Telegram layer (aiogram 3). Importing it imports aiogram with lazily built models
(see `bot.telegram.lazy_models`), so every entry point gets the saving."""

from bot.telegram.lazy_models import import_aiogram

AIOGRAM_IMPORT = import_aiogram()  # "lazy", or "plain" on untested pydantic/aiogram versions
