"""What a connected account's customers may spend: each customer's tokens a day
(DAILY_TOKEN_LIMIT, counted with every user's) and all of one connection's customers' as a whole
(BUSINESS_DAILY_TOKEN_LIMIT, counted on the connection), checked before a model call and
charged after it; the owner is told once a day when a budget stops the answers."""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from bot.features.business.store import BusinessStore, Connection, CustomerChat


@dataclass(frozen=True, slots=True)
class Budgets:
    """Tokens a day: each customer's (DAILY_TOKEN_LIMIT) and a connection's customers' as a
    whole (BUSINESS_DAILY_TOKEN_LIMIT); 0: no limit."""

    customer: int = 0
    connection: int = 0


# Tells the owner of `connection` the text of `key` ("budget_connection", "budget_customer")
# about `customer` (the chat's label) and `limit`.
TellOwner = Callable[[Connection, str, str, int], Awaitable[None]]


@dataclass(slots=True)
class Spending:
    store: BusinessStore
    budgets: Budgets
    tell: TellOwner
    # Owners told today that a budget stopped the answers: (connection, customer or 0, day).
    _told: set[tuple[str, int, dt.date]] = field(default_factory=set)

    async def refusal(self, connection: Connection, chat: CustomerChat, customer: int,
                      today: dt.date) -> str | None:
        """Why a budget stops the answer to `customer` (for the log), or None."""
        budgets = self.budgets
        if budgets.connection and connection.tokens_on(today) >= budgets.connection:
            await self._tell_once(connection, chat, 0, today, "budget_connection",
                                  budgets.connection)
            return "the connection's daily token budget is used up"
        if budgets.customer and await self.store.tokens_of(customer, today) >= budgets.customer:
            await self._tell_once(connection, chat, customer, today, "budget_customer",
                                  budgets.customer)
            return "the customer's daily token budget is used up"
        return None

    async def charge(self, connection: Connection, today: dt.date, tokens: int) -> None:
        """The connection's count (the customer's own is charged with the turn)."""
        if tokens:
            await self.store.charge(connection.id, today, tokens)

    async def _tell_once(self, connection: Connection, chat: CustomerChat, customer: int,
                         today: dt.date, key: str, limit: int) -> None:
        told = (connection.id, customer, today)
        if told in self._told:
            return
        if len(self._told) > 10_000:
            self._told.clear()
        self._told.add(told)
        await self.tell(connection, key, chat.label, limit)
