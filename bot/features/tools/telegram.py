"""The tools feature's part on the Telegram front (bot/telegram/featureparts.py): the running
calls named and the cards in an answer (`ToolCards`: confirmations, cards.py; approvers'
cards, approvals.py), the presses on them and the sweep of expired ones (presses.py), and
/toolcalls (toolcalls.py)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine, Sequence
from typing import TYPE_CHECKING, Any

from aiogram.exceptions import TelegramAPIError
from aiogram.methods import EditMessageReplyMarkup, SendMessage

from bot.features.tools import toolcalls
from bot.features.tools.approvals import ask_approvers
from bot.features.tools.cards import post_card, running_status
from bot.features.tools.presses import ToolExpiry, ToolPresses
from bot.features.tools.turnpart import PRESS, WaitingCall, tool_turn, waiting_calls
from bot.plugin.conversation import TurnResult
from bot.plugin.models import CompletionStatus, Snapshot
from bot.plugin.telegram import (
    BotService,
    FrontParts,
    Outbox,
    OutboxError,
    StreamHandle,
    Target,
    TelegramPart,
    Translator,
    settled_ids,
)

if TYPE_CHECKING:
    from bot.features.tools.loop import ToolLoop
    from bot.plugin.conversation import Listeners
    from bot.plugin.telegram import Deps

log = logging.getLogger(__name__)


def tools_on_telegram(
    front: FrontParts,
    loop: ToolLoop | None, superseded: Listeners[[int, list[int]]] | None = None
) -> TelegramPart:
    """`loop`: the tool loop (None: no tools; /toolcalls still answers and a press on an old
    card is only acknowledged). `superseded`: where the loop tells which cards a new message
    took the buttons off (their buttons go in Telegram)."""

    cards = ToolCards(front.outbox, loop)
    if superseded is not None:
        superseded.subscribe(cards.superseded)

    def expiry(deps: Deps) -> Sequence[BotService]:
        return [ToolExpiry(deps, loop)] if loop is not None else []

    return TelegramPart(
        early=[toolcalls.build_router()],
        late=[ToolPresses(loop).build_router()],
        notes=cards,
        suspension=cards,
        after_delivery=cards,
        services=[cards],
        services_on=expiry,
    )


class ToolCards(BotService):
    """The tool loop's side of an answer: the running calls named under the streaming text
    (a `StreamNote`), a card per call of an answer it suspended until a press (a
    `Suspension`), the notice of a per-user tool limit reached once the answer is delivered
    (an `AfterDelivery`), the buttons taken off cards a new message declined. Its background
    edits are a `BotService`'s work (waited for by `wait_idle`, finished at shutdown)."""

    reason = PRESS  # the answers it shows suspended: those waiting for a press
    background = False  # the limit's notice comes before the chat's next answer

    def __init__(self, outbox: Outbox, tools: ToolLoop | None) -> None:
        self.outbox = outbox
        self.tools = tools
        self._tasks: set[asyncio.Task[None]] = set()

    def note(self, snapshot: Snapshot, t: Translator) -> str | None:
        """While a round of calls runs: the calls named."""
        if snapshot.status is CompletionStatus.TOOL_CALLS and snapshot.tool_calls:
            return running_status(snapshot.tool_calls, t)
        return None

    async def delivered(
        self, target: Target, result: TurnResult, ids: list[int], t: Translator
    ) -> None:
        """A per-user tool limit reached this turn: the model was told; the user hears it
        from us."""
        kind = tool_turn(result).limit_reached
        if kind is not None:
            await self.tell_limit(target, kind, t)

    async def tell_limit(self, target: Target, kind: str, t: Translator) -> None:
        """One line in the user's language: a per-user tool limit was reached this turn."""
        tools = self.tools
        settings = tools.settings if tools is not None else None
        count = 0 if settings is None else (settings.writes_per_user_day
                                            if kind == "writes_per_day"
                                            else settings.calls_per_user_hour)
        method = SendMessage(chat_id=target.chat.chat_id, text=t(f"tool_limit_{kind}", n=count),
                             message_thread_id=target.thread_id)
        try:
            await self.outbox.call(target.chat.chat_id, method)
        except (TelegramAPIError, OutboxError) as exc:
            log.warning("chat %s: the tool limit notice was not delivered: %s",
                        target.chat.chat_id, exc)

    async def ask(
        self, target: Target, handle: StreamHandle, result: TurnResult, t: Translator
    ) -> list[int]:
        """The turn waits for a press: what the model wrote stays, then one card per call."""
        ids = await settled_ids(handle.finish(result.text)) if result.text.strip() else []
        if not ids:
            handle.drop()
        tools = self.tools
        ttl = tools.settings.confirm_ttl if tools is not None else 600.0
        for call in waiting_calls(result):
            if call.approvers and tools is not None:
                await self._ask_approvers(tools, target, call, t)
                continue
            card = await post_card(self.outbox, target, call, t, ttl)
            if card is not None and tools is not None:
                self._keep(tools.decisions.note_card(call.id, card))
        return ids

    async def _ask_approvers(
        self, tools: ToolLoop, target: Target, call: WaitingCall, t: Translator
    ) -> None:
        """The card goes to the approvers, not the asker; the asker is told who decides (or,
        when nobody can be asked, that the request is withdrawn: it expires at once)."""
        text = await ask_approvers(self.outbox, tools, call, t)
        await self.tell(target.chat.chat_id, text, thread_id=target.thread_id)

    async def tell(self, chat_id: int, text: str, *, thread_id: int | None = None) -> None:
        """One line in a chat (nothing is lost if it fails)."""
        try:
            await self.outbox.call(chat_id, SendMessage(chat_id=chat_id, text=text,
                                                        message_thread_id=thread_id))
        except (TelegramAPIError, OutboxError) as exc:
            log.warning("chat %s: a line of the tools was not delivered: %s", chat_id, exc)

    def superseded(self, chat_id: int, cards: list[int]) -> None:
        """A new message declined the calls these cards asked about: their buttons go."""
        for card in cards:
            self._keep(self._uncard(chat_id, card))

    async def wait_idle(self) -> None:
        while self._tasks:
            await asyncio.wait(set(self._tasks))

    async def shutdown(self) -> None:
        await self.wait_idle()

    def _keep(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _uncard(self, chat_id: int, card: int) -> None:
        method = EditMessageReplyMarkup(chat_id=chat_id, message_id=card, reply_markup=None)
        try:
            await self.outbox.call(chat_id, method)
        except (TelegramAPIError, OutboxError) as exc:
            log.info("chat %s: the buttons of card %s stay: %s", chat_id, card, exc)
