"""What a connected account's customers may spend: each customer's tokens a day
(DAILY_TOKEN_LIMIT, counted with every user's, checked before a model call) and all of one
connection's customers' as a whole (BUSINESS_DAILY_TOKEN_LIMIT, counted on the connection);
the owner is told once a day when a budget stops the answers.

A connection's customers are answered side by side, so its budget is reserved before the
call, not merely checked: an estimate of the turn's cost (the prompt as it would be read now,
plus MAX_REPLY_TOKENS) is added to the connection's count in one conditional UPDATE that
refuses to pass the limit, and settled to the real usage after the call (released when it
fails). Five customers writing at once cannot all pass a check that none has been charged
for yet. An estimate larger than the whole budget reserves the budget: a lone answer on a
fresh day still runs."""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from bot.features.business.store import BusinessStore, Connection, CustomerChat

# What a turn may cost, estimated before it runs (ConversationService.cost_estimate).
Estimate = Callable[[], Awaitable[int]]


@dataclass(frozen=True, slots=True)
class Reservation:
    """Tokens taken from a connection's budget for one answer, on `day`, until settled."""

    connection_id: str
    day: dt.date
    tokens: int


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

    async def reserve(self, connection: Connection, chat: CustomerChat, customer: int,
                      today: dt.date, estimate: Estimate) -> Reservation | str:
        """The connection's budget reserved for the answer to `customer` (nothing reserved
        without a connection budget), or why a budget stops it (for the log)."""
        budgets = self.budgets
        if budgets.customer and await self.store.tokens_of(customer, today) >= budgets.customer:
            await self._tell_once(connection, chat, customer, today, "budget_customer",
                                  budgets.customer)
            return "the customer's daily token budget is used up"
        if not budgets.connection:
            return Reservation(connection.id, today, 0)
        tokens = min(await estimate(), budgets.connection)
        if not await self.store.reserve(connection.id, today, tokens, budgets.connection):
            await self._tell_once(connection, chat, 0, today, "budget_connection",
                                  budgets.connection)
            return "the connection's daily token budget is used up"
        return Reservation(connection.id, today, tokens)

    async def settle(self, reservation: Reservation, spent: int) -> None:
        """The reservation replaced by what the answer spent (0: it failed, all released);
        the customer's own count is charged with the turn. Without a connection budget the
        connection's count is still kept (`/business` shows it)."""
        if not self.budgets.connection:
            if spent:
                await self.store.charge(reservation.connection_id, reservation.day, spent)
            return
        await self.store.settle(reservation.connection_id, reservation.day,
                                reservation.tokens, spent)

    async def _tell_once(self, connection: Connection, chat: CustomerChat, customer: int,
                         today: dt.date, key: str, limit: int) -> None:
        told = (connection.id, customer, today)
        if told in self._told:
            return
        if len(self._told) > 10_000:
            self._told.clear()
        self._told.add(told)
        await self.tell(connection, key, chat.label, limit)
