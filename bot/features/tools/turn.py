"""The tool loop in a turn: opening carries on the calls a press released and reads the
window's tool exchanges; a turn whose model takes tools is streamed through the loop."""

from __future__ import annotations

from collections.abc import AsyncGenerator

from sqlalchemy.ext.asyncio import AsyncSession

from bot.conversation.features import Opening, TurnFeature
from bot.conversation.turn import TurnState
from bot.features.tools.loop import ToolLoop
from bot.foundation_models.types import ChatMessage, ChatModel, CompletionOptions, Snapshot
from bot.storage.models import MessageRole


class ToolsFeature(TurnFeature):
    name = "tools"

    def __init__(self, loop: ToolLoop) -> None:
        self.loop = loop

    async def opened(self, opening: Opening) -> None:
        loop = self.loop
        if opening.carried:
            await loop.attach(opening.session, opening.carried, opening.answer_id)
        if loop.offers(opening.model):
            answers = [e.id for e in opening.window if e.role is MessageRole.ASSISTANT]
            opening.exchanges = await loop.exchanges(
                opening.session, answers, user_id=opening.speaker.user_id
            )

    def stream(
        self,
        turn: TurnState,
        messages: list[ChatMessage],
        options: CompletionOptions,
        client: ChatModel | None,
    ) -> AsyncGenerator[Snapshot, None] | None:
        if not self.loop.offers(turn.model):
            return None
        return self.loop.stream(turn, messages, options, client=client)

    async def reset(self, session: AsyncSession, chat_id: int) -> None:
        await self.loop.supersede(session, chat_id, None)  # nothing left to press
