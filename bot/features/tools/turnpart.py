"""The tool loop's part of a turn: its slot on the turn (`turn.part(ToolTurn)`), handed on
to the turn's result (`TurnResult.parts`), where its Telegram part (cards.py) and the
terminal chat read what waits for a press and the limit reached."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from bot.plugin.conversation import TurnResult
from bot.plugin.storage import MessageStatus

#: The reason the tool loop suspends an answer (`TurnState.suspended`): a call waits for the
#: user's press (or an approver's).
PRESS = "press"


@dataclass(frozen=True, slots=True)
class WaitingCall:
    """A stored tool call waiting for the user's press (what the front end draws)."""

    id: int
    name: str
    arguments: Mapping[str, Any]
    description: str
    expires_at: dt.datetime | None
    # The action's name for the person, by language ("en", "ru"); see ToolDefinition.title.
    titles: Mapping[str, str] = field(default_factory=dict)
    # Who decides it instead of the asker ("group:NAME", "chat:ID"; "": the asker), who asks
    # (their id, and as their approvers' card names them) and why (their question, bounded).
    approvers: str = ""
    user_id: int = 0
    asker: str = ""
    why: str = ""


@dataclass(slots=True)
class ToolTurn:
    """What the tool loop knows of a turn."""

    # The answer goes on from one already begun: it was reopened, or carried on after a
    # press (what it stored before is read first).
    resumed: bool = False
    # Carried on after a press: the text before the calls is on screen already (its own
    # message), so the answer goes on without it.
    continued: bool = False
    # What the answer stops to ask the user to press (its status is then WAITING).
    waiting: tuple[WaitingCall, ...] = ()
    # A per-user limit this turn reached ("calls_per_hour", "writes_per_day"), if any.
    limit_reached: str | None = None
    # This turn stored a round of calls for the answer. With `resumed` (calls carried over
    # or stored before a reopening), the only ways an answer has calls: otherwise there is
    # nothing to read back when the answer is recorded.
    stored: bool = False

    @property
    def has_calls(self) -> bool:
        """Whether the answer may have stored calls (a read finds none otherwise)."""
        return self.stored or self.resumed


def tool_turn(result: TurnResult) -> ToolTurn:
    """The tool loop's part of a finished turn (an empty one when the loop had none)."""
    found = result.parts.get(ToolTurn)
    return found if isinstance(found, ToolTurn) else ToolTurn()


def waiting_calls(result: TurnResult) -> tuple[WaitingCall, ...]:
    """The calls the answer waits for the user to press (none unless it is `waiting`)."""
    if result.status is not MessageStatus.WAITING:
        return ()
    return tool_turn(result).waiting
