"""Guest mode built from Settings (GUEST_MODE): the bot @mentioned in chats it is not in."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.features.guest.answering import GuestAnswers
    from bot.wiring.groundwork import Groundwork


def build_guest(ground: Groundwork, system_prompt: str) -> GuestAnswers | None:
    """Guest mode's answers: the chat model, the bot's system prompt and reply settings, the
    daily token budget; None with GUEST_MODE=off."""
    settings = ground.settings
    if settings.guest_mode == "off":
        return None
    from bot.features.guest.answering import GuestAnswers
    from bot.foundation_models.types import CompletionOptions

    return GuestAnswers(
        sessionmaker=ground.db.sessionmaker,
        model=ground.chat_model,
        model_name=settings.text_model,
        system_prompt=system_prompt,
        options=CompletionOptions(
            temperature=settings.temperature, max_tokens=settings.max_reply_tokens
        ),
        daily_token_limit=settings.daily_token_limit,
    )
