"""Answering a connected account's customers: who is answered, and how (the owner's cards of
suggested answers and their presses: cards.py).

A customer's message is answered (BUSINESS_REPLIES=auto) by streaming into one message of
that chat, edited as the answer grows, sent with the connection's id so it appears as the
owner's; or (approve) the suggested answer goes to the owner's private chat with the bot and
reaches the customer only after "Send". The turn is the conversation's usual one, on the
customer chat's own conversation (never the customer's private chat with the bot), read-only:
tools that write are neither offered nor run.

No model call is made when the connection is switched off, may not reply, is paused (all
chats or this one), when the owner wrote in the chat within the takeover window, or when the
customer is over the rate limit or a daily token budget (the customer's own DAILY_TOKEN_LIMIT,
or BUSINESS_DAILY_TOKEN_LIMIT for all the connection's customers as a whole: then the owner is
told, once a day); the message is kept as history all the same."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from aiogram.exceptions import TelegramAPIError
from aiogram.types import Message

from bot.features.business.budgets import Budgets, Reservation, Spending
from bot.features.business.cards import SuggestionCards
from bot.features.business.store import (
    CHAT_TYPE,
    BusinessStore,
    Connection,
    CustomerChat,
)
from bot.features.business.texts import say
from bot.plugin.conversation import ChatRef, ConversationService, Speaker, TurnResult
from bot.plugin.grounding import grounded_of
from bot.plugin.models import Snapshot
from bot.plugin.storage import MessageRole, MessageStatus, utcnow
from bot.plugin.telegram import (
    Outbox,
    OutboxError,
    RateLimiter,
    StreamHandle,
    Translator,
    describe_error,
    with_citations,
)

log = logging.getLogger(__name__)

# Why the bot stays silent in a chat (the log's words), and what a held "Send" tells the owner.
SWITCHED_OFF = "the connection is switched off"
MAY_NOT_REPLY = "the connection may not reply"
PAUSED = "paused by the owner"
TAKEN_OVER = "the owner wrote in the chat lately"
_HELD = {SWITCHED_OFF: "held_off", MAY_NOT_REPLY: "held_off", PAUSED: "held_paused",
         TAKEN_OVER: "held_taken"}

Mode = Literal["auto", "approve"]


@dataclass(slots=True)
class Spent:
    """The tokens an answer spent, known once its turn ends (what its reservation settles to,
    whatever happens after)."""

    tokens: int = 0

    def add(self, result: TurnResult) -> None:
        if result.usage is not None:
            self.tokens += result.usage.total_tokens


@dataclass(frozen=True, slots=True)
class BusinessOptions:
    """BUSINESS_REPLIES (but `off`, which leaves the feature out), the takeover window and the
    daily token budgets."""

    mode: Mode = "auto"
    takeover: dt.timedelta = dt.timedelta(minutes=30)
    customer_daily_tokens: int = 0
    connection_daily_tokens: int = 0

    @property
    def budgets(self) -> Budgets:
        return Budgets(self.customer_daily_tokens, self.connection_daily_tokens)


@dataclass(frozen=True, slots=True)
class Asked:
    """A customer's message to answer."""

    connection: Connection
    chat: CustomerChat
    speaker: Speaker
    text: str
    message_id: int
    surface: str = "business"  # the Principal's: which rules the turn's tools follow


class BusinessReplies:
    def __init__(
        self,
        store: BusinessStore,
        conversation: ConversationService,
        outbox: Outbox,
        limiter: RateLimiter,
        *,
        mode: Mode,
        takeover: dt.timedelta,
        budgets: Budgets | None = None,
        now: Callable[[], dt.datetime] = utcnow,
    ) -> None:
        self.store = store
        self.conversation = conversation
        self.outbox = outbox
        self.limiter = limiter
        self.mode = mode
        self.takeover = takeover
        self.spending = Spending(store, budgets or Budgets(), self._tell_budget)
        self._now = now
        # BUSINESS_REPLIES=approve: the owner's cards, and what their presses do.
        self.cards = SuggestionCards(store, outbox, held=self.silence, held_texts=_HELD,
                                     takeover=takeover)

    # -- who is answered -----------------------------------------------------------------------

    def silence(self, connection: Connection, chat: CustomerChat) -> str | None:
        """Why the bot stays silent in the chat now (for the log), or None."""
        if not connection.enabled:
            return SWITCHED_OFF
        if not connection.can_reply:
            return MAY_NOT_REPLY
        if connection.paused or chat.paused:
            return PAUSED
        wrote = chat.owner_wrote_at
        if wrote is not None and self.takeover and self._now() - wrote < self.takeover:
            return TAKEN_OVER
        return None

    def taken_over_until(self, chat: CustomerChat) -> dt.datetime | None:
        """When the owner's takeover of the chat ends (None: not taken over now)."""
        wrote = chat.owner_wrote_at
        if wrote is None or not self.takeover:
            return None
        until = wrote + self.takeover
        return until if until > self._now() else None

    async def cannot_answer(self, asked: Asked, kind: str) -> None:
        """A customer's message the bot cannot answer in the owner's name (a voice note, a
        sticker): kept as history, nothing sent to the customer, and the owner told, unless
        the bot would stay silent there anyway (paused, taken over, switched off)."""
        reason = self.silence(asked.connection, asked.chat)
        log.info("business chat %s of %s: a %s from the customer is the owner's to answer%s",
                 asked.chat.chat_id, asked.connection.id, kind,
                 f" ({reason})" if reason else "")
        await self.store.note(
            asked.chat, MessageRole.USER, asked.text, author_user_id=asked.speaker.user_id,
            author_name=asked.speaker.display_name, telegram_message_id=asked.message_id,
        )
        if reason is None:
            t = owner_translator(asked.connection)
            await self._tell(asked.connection, say(t, "cannot_answer", customer=asked.chat.label,
                                                   kind=say(t, f"kind_{kind}")))

    async def edited(self, asked: Asked) -> None:
        """A customer edited a message: not answered again; the owner is told."""
        reason = self.silence(asked.connection, asked.chat)
        log.info("business chat %s of %s: message %s edited; edits are not answered again",
                 asked.chat.chat_id, asked.connection.id, asked.message_id)
        if reason is None:
            t = owner_translator(asked.connection)
            text = asked.text if len(asked.text) <= 300 else asked.text[:300] + "…"
            await self._tell(asked.connection, say(t, "edited", customer=asked.chat.label,
                                                   text=text))

    async def _tell(self, connection: Connection, text: str) -> None:
        try:
            await self.outbox.send_text(connection.user_chat_id, text)
        except (TelegramAPIError, OutboxError) as exc:
            log.warning("the owner of %s could not be told: %s", connection.id, exc)

    async def owner_wrote(self, connection: Connection, chat: CustomerChat, message: Message,
                          text: str) -> None:
        """The owner's own message: history on the account's side, and the takeover starts."""
        await self.store.note(
            chat, MessageRole.ASSISTANT, text or "…", author_user_id=connection.owner_user_id,
            author_name=connection.owner_name, telegram_message_id=message.message_id,
            owner=True,
        )

    async def _tell_budget(self, connection: Connection, key: str, customer: str,
                           limit: int) -> None:
        t = owner_translator(connection)
        await self._tell(connection, say(t, key, customer=customer, limit=limit))

    async def customer_wrote(self, asked: Asked, t: Translator) -> None:
        reason = self.silence(asked.connection, asked.chat)
        if reason is None and await self.limiter.check(asked.speaker.user_id):
            reason = "the customer is over the rate limit"
        reserved: Reservation | str | None = None
        if reason is None:

            async def estimate() -> int:
                return await self.conversation.cost_estimate(self._chat_ref(asked), asked.text)

            reserved = await self.spending.reserve(asked.connection, asked.chat,
                                                   asked.speaker.user_id, self._now().date(),
                                                   estimate)
            if isinstance(reserved, str):
                reason = reserved
        if reason is not None or not isinstance(reserved, Reservation):
            log.info("business chat %s of %s: not answered, %s", asked.chat.chat_id,
                     asked.connection.id, reason)
            await self.store.note(
                asked.chat, MessageRole.USER, asked.text,
                author_user_id=asked.speaker.user_id, author_name=asked.speaker.display_name,
                telegram_message_id=asked.message_id,
            )
            return
        spent = Spent()
        try:
            await self.store.touch(asked.chat)
            if self.mode == "approve":
                await self._suggest(asked, t, spent)
            else:
                await self._answer(asked, t, spent)
        finally:  # settled however the answer ended (released when it spent nothing)
            await self.spending.settle(reserved, spent.tokens)

    # -- answering -----------------------------------------------------------------------------

    def _chat_ref(self, asked: Asked) -> ChatRef:
        return ChatRef(asked.chat.conversation_chat_id, CHAT_TYPE,
                       asked.chat.customer_name or None, read_only=True,
                       surface=asked.surface)

    async def _answer(self, asked: Asked, t: Translator, spent: Spent) -> None:
        handle = self.outbox.stream(
            asked.chat.chat_id, "private", draft=False,
            business_connection_id=asked.connection.id,
        )
        seen = ""

        def on_snapshot(snapshot: Snapshot) -> None:
            nonlocal seen
            if snapshot.text:
                seen = snapshot.text
                handle.update(seen)

        try:
            result = await self.conversation.run_turn(
                self._chat_ref(asked), asked.speaker, asked.text, on_snapshot=on_snapshot,
                telegram_message_id=asked.message_id,
            )
        except Exception as exc:
            log.exception("business chat %s: the answer failed", asked.chat.chat_id)
            await self._close(handle, seen)
            await self._tell_owner(asked, exc)
            return
        spent.add(result)
        if result.error is not None or (result.status is not MessageStatus.COMPLETE and \
                result.status is not MessageStatus.TRUNCATED):
            # The customer never reads an error in the owner's name: the partial answer
            # stays (if any), the owner hears why.
            await self._close(handle, seen)
            await self._tell_owner(asked, result.error or result.status.value)
            return
        try:
            await handle.finish(final_text(result, t))
        except (TelegramAPIError, OutboxError) as exc:
            log.warning("business chat %s: the answer could not be delivered: %s",
                        asked.chat.chat_id, exc)
            await self._tell_owner(asked, str(exc))

    async def _close(self, handle: StreamHandle, seen: str) -> None:
        if not seen.strip():
            handle.drop()
            return
        try:
            await handle.finish(seen)
        except (TelegramAPIError, OutboxError) as exc:
            log.warning("a partial business answer could not be kept: %s", exc)

    async def _suggest(self, asked: Asked, t: Translator, spent: Spent) -> None:
        try:
            result = await self.conversation.run_turn(
                self._chat_ref(asked), asked.speaker, asked.text,
                telegram_message_id=asked.message_id,
            )
        except Exception as exc:
            log.exception("business chat %s: the suggestion failed", asked.chat.chat_id)
            await self._tell_owner(asked, exc)
            return
        spent.add(result)
        if result.error is not None or not result.text.strip():
            await self._tell_owner(asked, result.error or result.status.value)
            return
        answer = final_text(result, t)
        suggestion_id = await self.store.suggest(asked.chat, result.message_id, asked.text,
                                                 answer)
        await self.cards.show(asked.connection, asked.chat, asked.text, answer, suggestion_id)

    async def _tell_owner(self, asked: Asked, reason: Exception | str) -> None:
        t = owner_translator(asked.connection)
        if isinstance(reason, Exception):
            reason = describe_error(reason, t)
        await self._tell(asked.connection, say(t, "failed", customer=asked.chat.label,
                                               reason=reason.rstrip(".")))


def owner_translator(connection: Connection) -> Translator:
    return Translator.for_code(connection.owner_language or None)


def final_text(result: TurnResult, t: Translator) -> str:
    """The answer as the customer reads it: with its sources as links when grounded."""
    grounded = grounded_of(result)
    if grounded.sources and not grounded.not_found:
        return with_citations(result.text, grounded.sources, t("answer_sources"))
    return result.text
