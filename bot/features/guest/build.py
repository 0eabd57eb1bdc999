"""Guest mode built from its settings (`settings.guest`: GUEST_MODE): the bot @mentioned in
chats it is not in."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.features.guest.settings import GuestSettings

if TYPE_CHECKING:
    from bot.features.guest.answering import GuestAnswers
    from bot.plugin.ground import Groundwork
    from bot.plugin.telegram import FrontParts, TelegramPart


def build_guest(ground: Groundwork, system_prompt: str) -> GuestAnswers | None:
    """Guest mode's answers: the chat model, the bot's system prompt and reply settings, the
    daily token budget; None with GUEST_MODE=off."""
    settings = ground.settings
    if not settings.section(GuestSettings).on:
        return None
    from bot.features.guest.answering import GuestAnswers
    from bot.plugin.models import CompletionOptions

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


def guest_on_telegram(
    front: FrontParts,
    guest: GuestAnswers | None, *, edit_interval: float = 1.0
) -> TelegramPart:
    """Guest queries on the Telegram front (a `guest_message` router: no other router sees
    those updates), their answer's edits at most one per `edit_interval` seconds; its service
    stops first, so that its answers finish before the outbox closes."""

    from bot.plugin.telegram import TelegramPart

    if guest is None:
        return TelegramPart()
    from bot.features.guest.telegram import GuestQueries

    guests = GuestQueries(guest, front.limiter, outbox=front.outbox,
                          edit_interval=edit_interval, shutdown_grace=front.shutdown_grace)
    return TelegramPart(front=[guests.build_router()], stops_first=[guests])
