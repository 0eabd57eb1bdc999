"""Chat automation as one `Feature`: customers of connected accounts answered
(BUSINESS_REPLIES), connected chats told whose voice the answer is in, and the Telegram
check's line on connections."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.features.business.settings import BusinessSettings
from bot.plugin.feature import Feature, TelegramLine

if TYPE_CHECKING:
    from aiogram import Bot
    from aiogram.types import User

    from bot.plugin.context import FeatureContext
    from bot.plugin.outcome import Outcome


async def lifespan(ctx: FeatureContext) -> None:
    """Chat automation: its line in the Telegram check and /business in the menu; on
    Telegram, the connected accounts' customers answered on the owner's behalf."""
    area = ctx.section(BusinessSettings)
    replies = area.replies

    async def connections(bot: Bot, me: User) -> Outcome:
        from bot.features.business.checks import business_connections

        return business_connections(bool(me.can_connect_to_business), replies)

    ctx.telegram_check(TelegramLine("chat automation", connections))
    # /business in the command menu and /help, with the replies on (BUSINESS_REPLIES): how an
    # owner finds the connection's state and pauses.
    if replies != "off":
        ctx.command("business", "Your business account's chats: pause or resume my answers",
                    ru="Чаты бизнес-аккаунта: приостановить или возобновить ответы")
    ground = await ctx.core()
    if ground.front.telegram and area.on:
        from bot.features.business.prompt import OnBehalf
        from bot.plugin.conversation import Contributing

        ctx.turn(Contributing([OnBehalf()]))
    front = await ctx.telegram()
    if front is None:
        return
    from bot.features.business.build import build_business, business_on_telegram

    ctx.on_front(business_on_telegram(front.parts, build_business(
        area, customer_daily_tokens=ground.settings.daily_token_limit)))


FEATURE = Feature(
    name="business",
    settings=BusinessSettings,
    tables=("bot.features.business.models",),
    texts=("bot.features.business.texts",),
    lifespan=lifespan,
)
