"""Chat automation as one `Feature`: customers of connected accounts answered
(BUSINESS_REPLIES), connected chats told whose voice the answer is in, and the Telegram
check's line on connections."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.features.business.settings import BusinessSettings
from bot.plugin.feature import CoreParts, Feature, TelegramLine, TelegramParts

if TYPE_CHECKING:
    from aiogram import Bot
    from aiogram.types import User

    from bot.plugin.built import Built
    from bot.plugin.ground import Groundwork, TelegramGround
    from bot.plugin.outcome import Outcome
    from bot.plugin.settings import Settings
    from bot.plugin.setup import FeatureSetup


def _setup(setup: FeatureSetup) -> None:
    # /business in the command menu and /help, with the replies on (BUSINESS_REPLIES): how an
    # owner finds the connection's state and pauses.
    if setup.section(BusinessSettings).replies != "off":
        setup.command("business", "Your business account's chats: pause or resume my answers",
                      ru="Чаты бизнес-аккаунта: приостановить или возобновить ответы")


async def _build(ground: Groundwork, built: Built) -> CoreParts | None:
    if not (ground.front.telegram and ground.settings.section(BusinessSettings).on):
        return None
    from bot.features.business.prompt import OnBehalf
    from bot.plugin.conversation import Contributing

    return CoreParts(turn=[Contributing([OnBehalf()])])


def _on_telegram(front: TelegramGround, built: Built) -> TelegramParts:
    from bot.features.business.build import build_business, business_on_telegram

    settings = front.ground.settings
    return TelegramParts(part=business_on_telegram(build_business(
        settings.section(BusinessSettings), customer_daily_tokens=settings.daily_token_limit)))


def _telegram_checks(settings: Settings) -> list[TelegramLine]:
    replies = settings.section(BusinessSettings).replies

    async def connections(bot: Bot, me: User) -> Outcome:
        from bot.features.business.checks import business_connections

        return business_connections(bool(me.can_connect_to_business), replies)

    return [TelegramLine("chat automation", connections)]


FEATURE = Feature(
    name="business",
    settings=BusinessSettings,
    tables=("bot.features.business.models",),
    texts=("bot.features.business.texts",),
    setup=_setup,
    build=_build,
    on_telegram=_on_telegram,
    telegram_checks=_telegram_checks,
)
