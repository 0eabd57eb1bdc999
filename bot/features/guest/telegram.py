"""The Telegram side of guest mode: a router for `guest_message` updates.

A guest query is answered once, with `answerGuestQuery` (the placeholder "Thinking…"); the
answer then streams into that message by `editMessageText` with its `inline_message_id`, at
most one edit per `edit_interval` seconds, the last one carrying the whole answer rendered as
the bot's other answers are (bot/telegram/render). The calls go through the outbox: paced in
the guest chat's lane and within the bot-wide budget. An inline message is one message: a longer
answer is cut at Telegram's 4,096 characters with a marker. A refused query (a second answer,
an expired query: Telegram's `QUERY_ID_INVALID`) costs no model call.

The update comes through the durable intake like any other (claimed exactly once, so never
answered twice after a restart or a repeated delivery) and the outer middlewares (access:
ALLOWED_USER_IDS and the rest; blocked users). It is not queued in a chat's FIFO: the bot is
not a member of that chat and keeps nothing of it. The per-minute rate limit and the daily
token budget are checked here (the QuotaMiddleware would answer in the chat, where the bot
cannot write); a refusal is the query's one answer.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from aiogram import Bot, Router
from aiogram.exceptions import TelegramAPIError, TelegramBadRequest, TelegramRetryAfter
from aiogram.methods import AnswerGuestQuery, EditMessageText, TelegramMethod
from aiogram.methods.base import TelegramType
from aiogram.types import InlineQueryResultArticle, InputTextMessageContent, Message

from bot.features.guest.answering import GuestAnswers, GuestQuestion
from bot.plugin.helpers import loop_time
from bot.plugin.models import Snapshot
from bot.plugin.telegram import (
    TELEGRAM_TEXT_LIMIT,
    BotService,
    Outbox,
    OutboxError,
    RateLimiter,
    RenderedText,
    Translator,
    describe_error,
    render_markdown,
    split_rendered,
    utf16_len,
    whole_seconds,
)

log = logging.getLogger(__name__)

# The placeholder posted with answerGuestQuery (Telegram needs a non-empty text).
THINKING = {"en": "Thinking…", "ru": "Думаю…"}
# A mention with no question and no message replied to.
EMPTY = {
    "en": "Ask me something after the mention, or mention me in a reply to a message.",
    "ru": "Задайте вопрос после упоминания или упомяните меня в ответе на сообщение.",
}


def _text(variants: dict[str, str], t: Translator) -> str:
    return variants.get(t.language, variants["en"])


def question_text(text: str, username: str | None) -> str:
    """The guest message's text without the bot's @mention (wherever it stands)."""
    if username:
        mention = f"@{username}"
        lower = text.lower()
        at = lower.find(mention.lower())
        while at >= 0:
            text = text[:at] + text[at + len(mention):]
            lower = text.lower()
            at = lower.find(mention.lower())
    return " ".join(text.split()) if "\n" not in text else text.strip()


def fitted(rendered: RenderedText, marker: str) -> RenderedText:
    """`rendered` as one message: cut before Telegram's limit with `marker` below it."""
    if rendered.utf16_length <= TELEGRAM_TEXT_LIMIT:
        return rendered
    room = TELEGRAM_TEXT_LIMIT - utf16_len(marker) - 2
    first = split_rendered(rendered, room)[0]
    return RenderedText(f"{first.text.rstrip()}\n\n{marker}", first.entities)


class GuestQueries(BotService):
    """Answers `guest_message` updates (see the module docstring). As a `BotService`, its
    shutdown lets the answers under way finish (up to `shutdown_grace` seconds) before the
    outbox closes; an answer still running then is cancelled and keeps its last edit."""

    def __init__(
        self,
        answers: GuestAnswers,
        limiter: RateLimiter,
        *,
        outbox: Outbox | None = None,
        edit_interval: float = 1.0,
        clock: Callable[[], float] = loop_time,
        shutdown_grace: float = 6.0,
    ) -> None:
        """`outbox`: the calls go through its pacing (per chat, and the bot-wide budget every
        message and edit shares; a retry_after waited out); without it, straight to the Bot
        API."""
        self.answers = answers
        self.limiter = limiter
        self.outbox = outbox
        self.edit_interval = edit_interval
        self.clock = clock
        self.shutdown_grace = shutdown_grace
        self._running: set[asyncio.Task[Any]] = set()

    def build_router(self) -> Router:
        router = Router(name="guest")
        router.guest_message.register(self.handle)
        return router

    async def shutdown(self) -> None:
        running = [task for task in self._running if not task.done()]
        if not running:
            return
        log.info("waiting for %d guest answers (up to %.0f s)", len(running),
                 self.shutdown_grace)
        _, late = await asyncio.wait(running, timeout=self.shutdown_grace)
        for task in late:
            task.cancel()

    async def handle(self, message: Message, bot: Bot, t: Translator, is_admin: bool) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._running.add(task)
        try:
            await self._handle(message, bot, t, is_admin)
        finally:
            if task is not None:
                self._running.discard(task)

    async def _handle(self, message: Message, bot: Bot, t: Translator, is_admin: bool) -> None:
        query_id = message.guest_query_id
        user = message.from_user
        if query_id is None or user is None:
            return
        me = await bot.me()
        question = question_text(message.text or message.caption or "", me.username)
        replied = message.reply_to_message
        replied_text = (replied.text or replied.caption or "") if replied is not None else ""
        author = replied.from_user.full_name if replied and replied.from_user else ""
        chat_id = message.chat.id
        if not question and not replied_text.strip():
            await self._answer(bot, chat_id, query_id, _text(EMPTY, t))
            return
        refusal = await self._refusal(user.id, t, is_admin)
        if refusal is not None:
            await self._answer(bot, chat_id, query_id, refusal)
            return
        inline_id = await self._answer(bot, chat_id, query_id, _text(THINKING, t))
        if inline_id is None:
            return  # refused by Telegram (answered already, expired): no model call
        log.info("guest query %s from user %s in chat %s", query_id, user.id, chat_id)
        asked = GuestQuestion(user.id, question, replied_text, author)
        await self._stream(bot, chat_id, inline_id, asked, t)

    async def _refusal(self, user_id: int, t: Translator, is_admin: bool) -> str | None:
        """The rate limit's or the budget's notice, or None when the asker may ask."""
        if is_admin:
            return None
        wait = await self.limiter.check(user_id)
        if wait:
            log.info("guest query of user %s rate limited for %.1f s", user_id, wait)
            return t("rate_limited", seconds=whole_seconds(wait))
        if await self.answers.over_budget(user_id):
            return t("token_budget", limit=self.answers.daily_token_limit)
        return None

    async def _call(
        self, bot: Bot, chat_id: int, method: TelegramMethod[TelegramType]
    ) -> TelegramType:
        if self.outbox is None:
            return await bot(method)
        return await self.outbox.call(chat_id, method)

    async def _answer(self, bot: Bot, chat_id: int, query_id: str, text: str) -> str | None:
        """The query's one answer; the posted message's inline_message_id, or None when
        Telegram refused it."""
        result = InlineQueryResultArticle(
            id=query_id[:64], title=text[:64],
            input_message_content=InputTextMessageContent(message_text=text, parse_mode=None),
        )
        try:
            sent = await self._call(
                bot, chat_id, AnswerGuestQuery(guest_query_id=query_id, result=result)
            )
        except (TelegramAPIError, OutboxError) as exc:
            log.warning("guest query %s could not be answered: %s", query_id, exc)
            return None
        return sent.inline_message_id

    async def _stream(
        self, bot: Bot, chat_id: int, inline_id: str, question: GuestQuestion, t: Translator
    ) -> None:
        last_edit = self.clock()
        shown = ""
        final = ""
        marker = t("truncated_marker")
        try:
            snapshot: Snapshot
            async for snapshot in self.answers.stream(question):
                final = snapshot.text
                if self.clock() - last_edit < self.edit_interval or not final.strip():
                    continue
                frame = fitted(render_markdown(final, partial=True), marker)
                if frame.text != shown and await self._edit(bot, chat_id, inline_id, frame):
                    shown = frame.text
                last_edit = self.clock()
        except Exception as exc:  # the model's failure: the usual text, in that message
            log.warning("guest answer failed: %s", exc)
            rendered = RenderedText.plain(describe_error(exc, t))
        else:
            rendered = fitted(render_markdown(final), marker) if final.strip() else (
                RenderedText.plain(t("error_generic")))
        wait = self.edit_interval - (self.clock() - last_edit)
        if wait > 0:  # the last edit keeps the pace too
            await asyncio.sleep(wait)
        if rendered.text != shown:
            await self._edit(bot, chat_id, inline_id, rendered)

    async def _edit(
        self, bot: Bot, chat_id: int, inline_id: str, rendered: RenderedText
    ) -> bool:
        call = EditMessageText(
            inline_message_id=inline_id, text=rendered.text,
            entities=rendered.entities or None, parse_mode=None,
        )
        for _ in range(3):
            try:
                await self._call(bot, chat_id, call)
                return True
            except TelegramRetryAfter as exc:  # straight to the Bot API (the outbox waits)
                await asyncio.sleep(exc.retry_after)
            except TelegramBadRequest as exc:
                if "not modified" in str(exc):
                    return True
                log.warning("guest answer %s could not be edited: %s", inline_id, exc)
                return False
            except (TelegramAPIError, OutboxError) as exc:
                log.warning("guest answer %s could not be edited: %s", inline_id, exc)
                return False
        return False
