"""Chat automation built from its settings (`settings.business`: BUSINESS_REPLIES): customers
of connected accounts answered."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.features.business.replies import BusinessOptions
    from bot.features.business.settings import BusinessSettings
    from bot.plugin.telegram import FrontParts, TelegramPart


def build_business(area: BusinessSettings, *, customer_daily_tokens: int = 0
                   ) -> BusinessOptions | None:
    """Chat automation's options; None with BUSINESS_REPLIES=off. `customer_daily_tokens`:
    DAILY_TOKEN_LIMIT, which each customer counts against like any user."""
    if area.replies == "off":
        return None
    from bot.features.business.replies import BusinessOptions

    return BusinessOptions(mode=area.replies, takeover=area.takeover,
                           customer_daily_tokens=customer_daily_tokens,
                           connection_daily_tokens=area.daily_tokens)


def business_on_telegram(front: FrontParts, options: BusinessOptions | None) -> TelegramPart:
    """Chat automation on the Telegram front: its updates, presses and /business, first of
    the front's routers."""

    from bot.plugin.telegram import TelegramPart

    if options is None:
        return TelegramPart()
    from bot.features.business.replies import BusinessReplies
    from bot.features.business.store import BusinessStore
    from bot.features.business.telegram import BusinessUpdates

    replies = BusinessReplies(BusinessStore(front.sessionmaker), front.conversation,
                              front.outbox, front.limiter, mode=options.mode,
                              takeover=options.takeover, budgets=options.budgets)
    updates = BusinessUpdates(replies)
    return TelegramPart(front=[updates.build_router()], owners=updates)
