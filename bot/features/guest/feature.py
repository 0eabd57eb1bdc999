"""Guest mode as one `Feature`: the bot @mentioned in chats it is not in (GUEST_MODE), and
the Telegram check's line on guest queries."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.features.guest.settings import GuestSettings
from bot.plugin.feature import Feature, TelegramLine, TelegramParts

if TYPE_CHECKING:
    from aiogram import Bot
    from aiogram.types import User

    from bot.plugin.built import Built
    from bot.plugin.ground import TelegramGround
    from bot.plugin.outcome import Outcome
    from bot.plugin.settings import Settings


def _on_telegram(front: TelegramGround, built: Built) -> TelegramParts:
    from bot.features.guest.build import build_guest, guest_on_telegram

    return TelegramParts(part=guest_on_telegram(build_guest(front.ground, front.system_prompt),
                                                edit_interval=front.guest_edit_interval))


def _telegram_checks(settings: Settings) -> list[TelegramLine]:
    on = settings.section(GuestSettings).on

    async def queries(bot: Bot, me: User) -> Outcome:
        from bot.features.guest.checks import guest_queries

        return guest_queries(bool(me.supports_guest_queries), on)

    return [TelegramLine("guest mode", queries)]


FEATURE = Feature(
    name="guest",
    settings=GuestSettings,
    on_telegram=_on_telegram,
    telegram_checks=_telegram_checks,
)
