"""The Telegram layer (aiogram 3)."""
