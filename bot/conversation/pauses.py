"""`Pauses`: turns that stop to wait for the user's press and carry on after it (a tool call
that needs confirming, bot/features/tools). The service's use cases that meet such a turn (a
new question, /retry, the press itself) ask it through this protocol."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from sqlalchemy.ext.asyncio import AsyncSession

from bot.conversation.turn import Question


@runtime_checkable  # the composition root finds the feature offering it by this type
class Pauses(Protocol):
    async def supersede(
        self, session: AsyncSession, chat_id: int, user_id: int | None
    ) -> None:
        """A new message: what waits for a press in the chat is declined (`user_id`'s; every
        member's when None)."""
        ...

    async def release(self, session: AsyncSession, answer_id: int, resume: bool) -> list[int]:
        """The answer is about to be replaced; what a resumed turn carries on (ids)."""
        ...

    async def reopen(self, session: AsyncSession, answer_id: int) -> tuple[int, int] | None:
        """The waiting answer goes on: (its question's id, its own); None when it no longer
        waits."""
        ...

    async def question(self, session: AsyncSession, reopened: tuple[int, int]) -> Question:
        """The question of a reopened answer."""
        ...
