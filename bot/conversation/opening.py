"""Opening a turn, the first unit of work: the chat's settings, the prompt window, what the
features read before the placeholder answer is stored (images pick the model) and after it
(the tool exchanges)."""

from __future__ import annotations

import time
from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from bot.conversation.features import Opening
from bot.conversation.parts import TurnParts
from bot.conversation.turn import Question, TurnState
from bot.conversation.types import ChatRef, ImageInput, Speaker
from bot.prompting import estimate_tokens
from bot.storage.models import MessageRole, MessageStatus
from bot.storage.repositories import (
    ChatRepository,
    ConversationRepository,
    MessageRepository,
    UpdateReceipt,
    commit_with,
    mark_settled,
    settle_statements,
)


async def chat_settings(
    parts: TurnParts, session: AsyncSession, chat: ChatRef
) -> tuple[str, str, int]:
    """The chat's model and system prompt (None = the deployment's) and its open
    conversation, opened if needed. One read when the chat is stored as `chat` says (the
    update middleware upserts it); the chat is upserted only when missing or changed. A
    ChatRef without a title (private chats, retries) leaves the stored title alone."""
    conversations = ConversationRepository(session)
    state = await conversations.chat_state(chat.chat_id)
    if state is None or state.type != chat.type or chat.title not in (None, state.title):
        row = await ChatRepository(session).upsert(chat.chat_id, chat.type, chat.title)
        stored_model, stored_system = row.model, row.system_prompt
    else:
        stored_model, stored_system = state.model, state.system_prompt
    conversation_id = state.conversation_id if state is not None else None
    if conversation_id is None:
        conversation_id = await conversations.open_id(chat.chat_id)
    model = stored_model or parts.default_model
    system = parts.default_system_prompt if stored_system is None else stored_system
    return model, system, conversation_id


async def open_turn(
    parts: TurnParts,
    session: AsyncSession,
    chat: ChatRef,
    speaker: Speaker,
    model: str,
    system_prompt: str,
    question: Question,
    receipts: Sequence[UpdateReceipt],
    carried: Sequence[int] = (),
    *,
    answer_id: int | None = None,
    images: tuple[ImageInput, ...] = (),
) -> TurnState:
    """Read the prompt window, add the placeholder answer (or go on with `answer_id`),
    settle the updates that carried the question, commit (first unit of work)."""
    messages = MessageRepository(session)
    reopened = answer_id is not None
    system_tokens = parts.tokens.known_system(model, system_prompt) if system_prompt else 0
    budget = parts.room(model) - system_tokens
    window = await messages.recent_for_prompt(
        question.conversation_id, budget, parts.statuses, estimate=estimate_tokens
    )
    opening = Opening(
        session, chat, speaker, question, model, window, images, carried, reopened
    )
    for feature in parts.features:  # e.g. images: the vision model when it sees any
        await feature.opening(opening)
    if answer_id is None:
        answer_id = await messages.insert(
            question.conversation_id,
            MessageRole.ASSISTANT,
            "",
            status=MessageStatus.STREAMING,
            reply_to_id=question.id,
            model=opening.model,
        )
    opening.answer_id = answer_id
    for feature in parts.features:  # e.g. tools: the window's tool exchanges
        await feature.opened(opening)
    await commit_with(session, settle_statements(session, receipts))
    mark_settled(receipts)
    turn = TurnState(
        chat,
        speaker,
        opening.model,
        system_prompt,
        question,
        answer_id,
        opening.window,
        room=parts.room(opening.model),
        started=time.monotonic(),
        exchanges=opening.exchanges,
        parts=opening.parts,
    )
    parts.streaming[chat.chat_id] = turn
    return turn
