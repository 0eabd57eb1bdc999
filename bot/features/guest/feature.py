"""Guest mode as one `Feature`: the bot @mentioned in chats it is not in (GUEST_MODE), and
the Telegram check's line on guest queries."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.features.guest.settings import GuestSettings
from bot.plugin.feature import Feature, TelegramLine

if TYPE_CHECKING:
    from aiogram import Bot
    from aiogram.types import User

    from bot.plugin.context import FeatureContext
    from bot.plugin.outcome import Outcome


async def lifespan(ctx: FeatureContext) -> None:
    """Guest queries: its line in the Telegram check; on Telegram, the answers."""
    on = ctx.section(GuestSettings).on

    async def queries(bot: Bot, me: User) -> Outcome:
        from bot.features.guest.checks import guest_queries

        return guest_queries(bool(me.supports_guest_queries), on)

    ctx.telegram_check(TelegramLine("guest mode", queries))
    front = await ctx.telegram()
    if front is None:
        return
    from bot.features.guest.build import build_guest, guest_on_telegram

    ctx.on_front(guest_on_telegram(front.parts, build_guest(front.ground, front.system_prompt),
                                   edit_interval=front.guest_edit_interval))


FEATURE = Feature(name="guest", settings=GuestSettings, lifespan=lifespan)
