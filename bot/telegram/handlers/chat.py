"""Text messages -> streamed answers; the draft stop button cancels the answer.

Private chats: every text message. Groups: only messages that mention the bot, reply to it,
or (elsewhere) call a command; the mention is removed from what the model sees.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import Bot, F, Router
from aiogram.filters import Filter
from aiogram.types import Message, MessageGenerationStopped
from sqlalchemy.ext.asyncio import AsyncSession

from bot.conversation.types import Employee
from bot.storage.repositories import MessageRepository, UpdateReceipt
from bot.telegram.chatqueue import Ticket
from bot.telegram.deps import Deps, answer_target, help_text, in_turn, speaker, thread_of
from bot.telegram.texts import Translator

log = logging.getLogger(__name__)


def is_command(message: Message) -> bool:
    entities = message.entities or []
    return bool(entities) and entities[0].type == "bot_command" and entities[0].offset == 0


class AddressedToBot(Filter):
    """Passes private messages and group messages meant for the bot; gives the handler
    `prompt`, the text without the bot's @mention."""

    async def __call__(self, message: Message, bot: Bot) -> bool | dict[str, Any]:
        text = message.text or message.caption or ""
        if message.chat.type == "private":
            return {"prompt": text}
        me = await bot.me()
        mentioned = False
        for entity in message.entities or message.caption_entities or []:
            if entity.type == "mention" and me.username:
                mentioned |= entity.extract_from(text).lower() == f"@{me.username.lower()}"
            elif entity.type == "text_mention" and entity.user is not None:
                mentioned |= entity.user.id == me.id
        if mentioned and me.username:
            text = re.sub(rf"@{re.escape(me.username)}\b", "", text, flags=re.IGNORECASE)
            return {"prompt": " ".join(text.split(" ")).strip()}
        reply = message.reply_to_message
        if (
            reply is not None
            and reply.from_user is not None
            and reply.from_user.id == me.id
            and reply.forum_topic_created is None
        ):
            return {"prompt": text}
        return False


def not_command(message: Message) -> bool:
    return not is_command(message)


# Commands are routed before this router; unknown ones fall through to handlers/other.py.
async def handle_text(
    message: Message,
    prompt: str,
    ticket: Ticket,
    deps: Deps,
    t: Translator,
    receipts: tuple[UpdateReceipt, ...] = (),
    replayed: bool = False,
    arrived_at: float | None = None,
    is_admin: bool = False,
    employee: Employee | None = None,
) -> None:
    if not prompt.strip():
        await in_turn(deps)
        await deps.notify(message.chat.id, help_text(deps, t), reply_to=message.message_id,
                          thread_id=thread_of(message))
        return
    who = speaker(message, is_admin=is_admin, employee=employee)
    paste = deps.pastes.offer(message.chat.id, who.user_id, prompt, receipts, arrived_at)
    if paste is None:
        log.info("message %s joins a long paste split by Telegram", message.message_id)
        # The paste's first part answers it all, and takes this part out of the durable
        # queue with the question; this ticket is released.
        return
    # Answered later (after what is ahead, or after a restart): the question is quoted, so it
    # is clear what for.
    where = answer_target(message, ticket, deps, replayed)
    question: str | Callable[[], Awaitable[str]] = prompt
    if not paste.closed:

        async def question() -> str:
            chat_id = message.chat.id
            return await deps.pastes.complete(
                chat_id, who.user_id, paste, lambda: deps.queues.on_their_way(chat_id)
            )

    deps.answers.submit_turn(
        ticket, where, who, question, t, message.message_id, receipts=paste.receipts
    )


class EditsNewestQuestion(Filter):
    """An edit of the chat's newest question that changes its text.

    Telegram sends `edited_message` for "a new version of a message that is known to the bot
    and was edited", which "may at times be triggered by changes to message fields that are
    either unavailable or not actively used by your bot"
    (https://core.telegram.org/bots/api#update): an edit whose text is the question as
    answered is not one. Nor is an edit of an older question: answering it now would answer
    out of order, after what followed it. (A filter, so that an edit left alone is not
    counted by the rate limit, which runs after the filters.)"""

    async def __call__(self, message: Message, prompt: str, session: AsyncSession) -> bool:
        newest = await MessageRepository(session).newest_question(message.chat.id)
        await session.commit()
        return (newest is not None
                and message.message_id in (newest.telegram_message_ids or ())
                and bool(prompt.strip()) and prompt.strip() != newest.text.strip())


async def handle_edited_text(
    message: Message,
    prompt: str,
    ticket: Ticket,
    deps: Deps,
    t: Translator,
    is_admin: bool,
    receipts: tuple[UpdateReceipt, ...] = (),
    replayed: bool = False,
    employee: Employee | None = None,
) -> None:
    """The user edited their newest question: the new text is answered as a new question
    (the desk carries an edit made while a person owns the chat to its topic, before this;
    other.py notes the edits left alone)."""
    where = answer_target(message, ticket, deps, replayed)
    deps.answers.submit_turn(ticket, where, speaker(message, is_admin=is_admin, employee=employee),
                             prompt, t, message.message_id, receipts=receipts)


async def handle_stop_button(event: MessageGenerationStopped, deps: Deps) -> None:
    stopped = deps.answers.stop_draft(event.chat.id, event.draft_id)
    log.info("stop button in chat %s (draft %s): %s", event.chat.id, event.draft_id, stopped)
    if not stopped and deps.replicas is not None:
        # Several replicas: the draft may be streaming on another one (the chat's holder).
        await deps.replicas.stop_draft(event.chat.id, event.draft_id)


def build_router() -> Router:
    router = Router(name=__name__)
    router.message.register(
        handle_text, F.text, not_command, AddressedToBot(), flags={"quota": "text"}
    )
    router.edited_message.register(
        handle_edited_text, F.text, not_command, AddressedToBot(), EditsNewestQuestion(),
        flags={"quota": "text"},
    )
    router.stopped_message_generation.register(handle_stop_button)
    return router
