"""The durable intake: every update is claimed (exactly once) and every message is stored
before Telegram is told it arrived, and stays queued until its effect is stored.

Telegram delivers an update until the bot acknowledges it, and never again after: a webhook
request answered 200, or a getUpdates call whose offset is past it. aiogram's polling loop
moves the offset at its next getUpdates call, whatever the handlers are doing, and its
webhook handler answers 200 before handling. So an answer that streams for ten seconds has
the questions behind it acknowledged and held only in memory; a crash loses them.

Here the claim and the message itself are committed in one transaction before the
acknowledgement: for polling in a request middleware on getUpdates (`DurablePolling`: the
batch is stored before aiogram sees it, and a failed store fails the call, so aiogram retries
it at the same offset), for webhooks in `DurableWebhookHandler` (503 until the store
succeeds; Telegram retries). The dispatch takes each update's `UpdateReceipt` (`take`); the
effect's own transaction settles it (the question stored, the conversation reset, the image
job created), and the chat's queue settles whatever produced no effect when the update's turn
has passed (`ChatQueues` `on_done`). At start, `pending` returns what a crash or a shutdown
left queued, in delivery order, and the app replays it before taking new updates.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Collection, Sequence
from dataclasses import dataclass
from typing import Any, cast

from aiogram import Bot
from aiogram.client.session.middlewares.base import (
    BaseRequestMiddleware,
    NextRequestMiddlewareType,
)
from aiogram.methods import GetUpdates, Response, TelegramMethod
from aiogram.methods.base import TelegramType
from aiogram.types import Update
from aiogram.webhook.aiohttp_server import SimpleRequestHandler
from aiohttp import web
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.clock import loop_time
from bot.storage.outage import Outage, outage_of
from bot.storage.repositories import (
    IncomingUpdate,
    PendingUpdate,
    UpdateReceipt,
    UpdateRepository,
)

log = logging.getLogger(__name__)

# The header Telegram sends the webhook secret in (setWebhook's `secret_token`).
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"

Bookkeeping = Callable[[AsyncSession, Sequence[Update]], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class Arrival:
    """An accepted update on its way to the dispatch (`Intake.take`)."""

    receipt: UpdateReceipt | None  # None: not queued (a press, an edit: handled at once)
    chat_id: int | None
    at: float  # the intake's clock (the loop's) when it was accepted


def queued(update: Update) -> bool:
    """Messages take a place in their chat's queue and may be handled long after they
    arrive; other updates are handled at once."""
    return update.message is not None


class Intake:
    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        bot_id: int,
        bookkeeping: Bookkeeping | None = None,
        clock: Callable[[], float] = loop_time,
    ) -> None:
        """`bookkeeping` runs in the claim's transaction with the updates claimed now (the
        app stores their senders there, saving a transaction per message)."""
        self.sessionmaker = sessionmaker
        self.bot_id = bot_id
        self.bookkeeping = bookkeeping
        self.clock = clock
        # Accepted and not yet dispatched, by update id.
        self._accepted: dict[int, Arrival] = {}
        # The same messages by chat (`arriving`).
        self._arriving: dict[int, set[int]] = {}

    async def accept(
        self,
        updates: Sequence[Update],
        raw: Sequence[str] | None = None,
        *,
        dispatch_here: bool = True,
    ) -> int:
        """Claim `updates` and store the queued ones, in one transaction; returns how many
        were new. Raises what the database raises: nothing is acknowledged then.
        `dispatch_here=False`: the queued ones are dispatched by their chat's lease holder,
        which reads them from the database (chatleases.py), so they are not registered for a
        dispatch here. (Registering and then taking them back would race with a holder in this
        process reading the chat's queue meanwhile: its copy would be taken and dropped.)"""
        items = [
            IncomingUpdate(
                u.update_id,
                u.message.chat.id,
                raw[i] if raw is not None else _dump(u),
            )
            if u.message is not None
            else IncomingUpdate(u.update_id)
            for i, u in enumerate(updates)
        ]
        async with self.sessionmaker() as session:
            claimed = await UpdateRepository(session, self.bot_id).claim_many(items)
            if self.bookkeeping is not None and claimed:
                await self.bookkeeping(session, [u for u in updates if u.update_id in claimed])
            await session.commit()
        now = self.clock()
        for item in items:
            if item.update_id in claimed and (dispatch_here or not item.payload):
                receipt = UpdateReceipt(self.bot_id, item.update_id) if item.payload else None
                self._arrive(item.update_id, Arrival(receipt, item.chat_id, now))
        duplicates = len(items) - len(claimed)
        if duplicates:
            log.info("%d duplicate updates dropped", duplicates)
        return len(claimed)

    def take(self, update_id: int) -> Arrival | None:
        """For the dispatch: the update's arrival, None when it was not accepted (a duplicate
        or an update that did not come through the intake)."""
        arrival = self._accepted.pop(update_id, None)
        if arrival is not None and arrival.chat_id is not None:
            waiting = self._arriving.get(arrival.chat_id)
            if waiting is not None:
                waiting.discard(update_id)
                if not waiting:
                    del self._arriving[arrival.chat_id]
        return arrival

    def arriving(self, chat_id: int, within: float) -> bool:
        """A message of the chat was accepted in the last `within` seconds and has not reached
        the dispatch yet (an album's next part, the rest of a long paste: gathering.py). Older
        ones are not counted: an update that never reaches the dispatch (a stop between the
        acceptance and the dispatch) is replayed at the next start, and must not hold the
        chat's questions back meanwhile."""
        waiting = self._arriving.get(chat_id)
        if not waiting:
            return False
        since = self.clock() - within
        return any(self._accepted[i].at >= since for i in waiting)

    def _arrive(self, update_id: int, arrival: Arrival) -> None:
        self._accepted[update_id] = arrival
        if arrival.chat_id is not None and arrival.receipt is not None:
            self._arriving.setdefault(arrival.chat_id, set()).add(update_id)

    async def settle(self, receipt: UpdateReceipt) -> None:
        """Take the update out of the queue unless its effect's transaction already did."""
        if receipt.settled:
            return
        await asyncio.shield(self._settle(receipt))

    async def _settle(self, receipt: UpdateReceipt) -> None:
        async def settle() -> None:
            async with self.sessionmaker() as session:
                await UpdateRepository(session, self.bot_id).settle([receipt.update_id])
                await session.commit()

        # Its turn has passed: settled once the database is back if it is away now (until
        # then it stays queued, and a restart would replay it).
        await outage_of(self.sessionmaker).ride("settling an update", settle)
        receipt.settled = True

    async def settle_many(self, receipts: Sequence[UpdateReceipt]) -> None:
        async def settle() -> None:
            async with self.sessionmaker() as session:
                ids = [r.update_id for r in receipts]
                await UpdateRepository(session, self.bot_id).settle(ids)
                await session.commit()

        # Waits for the database if it is away: a caller's work done before this (the
        # backlog's notices) must not be done again by a caller retrying.
        await outage_of(self.sessionmaker).ride("settling updates", settle)
        for receipt in receipts:
            receipt.settled = True

    async def pending(
        self, bot: Bot, chat_id: int | None = None, skip: Collection[int] = ()
    ) -> list[tuple[Update, UpdateReceipt, PendingUpdate]]:
        """What is queued (the last run's leftovers at start; with `chat_id`, one chat's
        queue, whichever replica received it), oldest first, but for the ids in `skip`, each
        registered for its dispatch. A payload that no longer parses is settled with a warning
        (it cannot be answered)."""
        async with self.sessionmaker() as session:
            rows = await UpdateRepository(session, self.bot_id).pending(chat_id)
            await session.commit()
        return await self.register(bot, rows, skip)

    async def register(
        self, bot: Bot, rows: Sequence[PendingUpdate], skip: Collection[int] = ()
    ) -> list[tuple[Update, UpdateReceipt, PendingUpdate]]:
        """`pending` for rows read already (in a caller's transaction)."""
        replay: list[tuple[Update, UpdateReceipt, PendingUpdate]] = []
        broken: list[UpdateReceipt] = []
        for row in rows:
            if row.update_id in skip:
                continue
            receipt = UpdateReceipt(self.bot_id, row.update_id)
            try:
                update = Update.model_validate_json(row.payload, context={"bot": bot})
            except ValidationError as exc:
                log.warning("queued update %s cannot be read, dropped: %s", row.update_id, exc)
                broken.append(receipt)
                continue
            self._arrive(row.update_id, Arrival(receipt, row.chat_id, self.clock()))
            replay.append((update, receipt, row))
        if broken:
            await self.settle_many(broken)
        return replay


def _waits(outage: Outage, update: Update) -> None:
    """A message the database could not take: its chat waits (told past the grace)."""
    message = update.message
    if message is not None:
        user = message.from_user
        outage.wait(
            message.chat.id, user.language_code if user else None,
            message.message_thread_id if message.is_topic_message else None,
        )


def _dump(update: Update) -> str:
    # by_alias: "from", not "from_user"; exclude_unset: what Telegram sent, nothing added.
    return update.model_dump_json(by_alias=True, exclude_unset=True)


class DurablePolling(BaseRequestMiddleware):
    """A request middleware: the updates a getUpdates call returns are stored before aiogram
    sees them, so before its next call acknowledges them. When storing fails the call fails:
    aiogram logs it, backs off and asks again at the same offset."""

    def __init__(self, intake: Intake) -> None:
        self.intake = intake

    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: Bot,
        method: TelegramMethod[TelegramType],
    ) -> Response[TelegramType]:
        # aiogram's request chain hands back the call's result (here, the list of updates).
        result = await make_request(bot, method)
        if isinstance(method, GetUpdates) and result:
            updates = cast(list[Update], result)
            try:
                await self.intake.accept(updates)
            except Exception as exc:
                outage = outage_of(self.intake.sessionmaker)
                if outage.failed(exc, f"storing {len(updates)} received updates"):
                    log.log(logging.INFO if outage.refuse(len(updates)) else logging.DEBUG,
                            "storing %d received updates failed (database unreachable); "
                            "asking again", len(updates))
                    for update in updates:
                        _waits(outage, update)
                else:
                    log.exception("storing %d received updates failed; asking again",
                                  len(updates))
                raise
            outage_of(self.intake.sessionmaker).succeeded()
        return result


class DurableWebhookHandler(SimpleRequestHandler):
    """aiogram's webhook handler with the store before the 200: a request whose update
    cannot be stored is answered 503, and Telegram delivers it again later."""

    def __init__(
        self,
        *args: Any,
        intake: Intake,
        route: Callable[[Update], bool] | None = None,
        **kwargs: Any,
    ) -> None:
        """`route`: with several replicas, takes a stored update that the chat's lease holder
        will run (True) instead of dispatching it here (chatleases.py)."""
        super().__init__(*args, **kwargs)
        self.intake = intake
        self.route = route
        self.closing = False
        self.dispatching: set[asyncio.Task[Any]] = set()

    def stop_dispatching(self) -> None:
        """Shutting down, for what still comes on connections left open (a balancer's or
        Telegram's kept-alive ones outlive the listening socket): a message is stored and
        left in its chat's queue, for another replica's sweep or this bot's next start; any
        other update is refused, and Telegram delivers it again. Nothing starts here."""
        self.closing = True

    async def handle(self, request: web.Request) -> web.Response:
        """aiogram's `handle` (the secret checked, then the update) with the store before
        the 200; the update runs in the background, in `self.dispatching`."""
        bot = await self.resolve_bot(request)
        if not self.verify_secret(request.headers.get(SECRET_HEADER, ""), bot):
            return web.Response(body="Unauthorized", status=401)
        response = await self._store_and_dispatch(bot, request)
        if self.closing:
            response.force_close()  # the balancer's next connection reaches another replica
        return response

    __call__ = handle

    async def dispatched(self) -> None:
        """Wait for the updates still running (shutting down, after `stop_dispatching`)."""
        await asyncio.gather(*self.dispatching, return_exceptions=True)

    async def _store_and_dispatch(self, bot: Bot, request: web.Request) -> web.Response:
        raw = await request.text()
        closing = self.closing  # as it is once the update is here, whatever happens meanwhile
        try:
            update = Update.model_validate_json(raw, context={"bot": bot})
        except ValidationError as exc:
            log.warning("webhook request is not an update: %s", exc.errors()[:1])
            return web.Response(status=400, text="not a Telegram update")
        if closing and not queued(update):
            return web.Response(status=503, text="shutting down")
        # With several replicas a message is run by its chat's lease holder (chatleases.py).
        routed = self.route is not None and queued(update)
        try:
            dispatch_here = not routed and not closing
            new = await self.intake.accept([update], [raw], dispatch_here=dispatch_here)
        except Exception as exc:
            outage = outage_of(self.intake.sessionmaker)
            if not outage.failed(exc, f"storing update {update.update_id}"):
                log.exception(
                    "storing update %s failed; Telegram will deliver it again", update.update_id
                )
                return web.Response(status=503, text="storage unavailable")
            # Expected while the database is away (the outage is logged once, and so is the
            # first update it refuses): its chat is told past the grace that it will be
            # answered, once the update is stored.
            log.log(logging.INFO if outage.refuse() else logging.DEBUG,
                    "storing update %s failed (database unreachable); Telegram will deliver "
                    "it again", update.update_id)
            _waits(outage, update)
            return web.Response(status=503, text="storage unavailable")
        outage_of(self.intake.sessionmaker).succeeded()
        if not new or closing:  # a repeated delivery, or left queued (stop_dispatching)
            return web.json_response({}, dumps=bot.session.json_dumps)
        if routed and self.route is not None and self.route(update):
            return web.json_response({}, dumps=bot.session.json_dumps)
        task = asyncio.create_task(self.dispatcher.feed_update(bot, update, **self.data))
        self.dispatching.add(task)
        task.add_done_callback(self.dispatching.discard)
        return web.json_response({}, dumps=bot.session.json_dumps)
