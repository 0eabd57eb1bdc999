"""Who asks in a turn, as the App's context providers and the tools see it: one `ToolContext`,
built one way for both (the language as a short code, whether the user is an admin, the
state of their support conversation). Whether they are an admin is the update's decision
(the Principal's, carried by the turn's speaker), never decided here."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from bot.conversation.turn import TurnState
from bot.conversation.types import language_code
from bot.extending.tools import ToolContext

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Asker:
    # The state of a user's newest support conversation (None without a desk).
    desk_state: Callable[[int], Awaitable[str | None]] | None = None

    async def context(self, turn: TurnState, key: str) -> ToolContext:
        """`key`: the idempotency key (a stored tool call's own; for context providers, the
        turn's answer)."""
        user = turn.speaker.user_id
        employee = turn.speaker.employee
        state = None
        if self.desk_state is not None:
            try:
                state = await self.desk_state(user)
            except Exception:  # the call goes on without it
                logger.exception("the desk state of user %s was not read", user)
        return ToolContext(
            user_id=user,
            chat_id=turn.chat.chat_id,
            language=language_code(turn.speaker.language),
            idempotency_key=key,
            desk_state=state,
            is_admin=turn.speaker.is_admin,
            email=employee.email if employee is not None else "",
            groups=tuple(sorted(employee.groups)) if employee is not None else (),
        )
