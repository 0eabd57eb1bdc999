"""The events hooks receive: plain, frozen values (no ORM rows, no aiogram objects)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal, cast, get_args

if TYPE_CHECKING:
    from aiogram import Bot

    from bot.config.composed import SettingsBase as Settings

AnswerStatus = Literal["complete", "truncated", "failed", "cancelled"]
"""How a turn ended (`AnswerEvent.status`)."""
HandoffReason = Literal["user_request", "kb_miss", "classifier", "complaint"]
"""Why a conversation went to a person (`HandoffEvent.reason`)."""
ToolCallOutcome = Literal["ok", "error", "timeout", "declined", "expired", "cancelled", ""]
"""How a tool call ended (`ToolCallInfo.outcome`); "" while it has not."""



def _one_of(kind: object, value: str) -> str:
    if value not in get_args(kind):
        raise ValueError(f"{value!r} is not one of {get_args(kind)}")
    return value


def answer_status(value: str) -> AnswerStatus:
    return cast(AnswerStatus, _one_of(AnswerStatus, value))


def handoff_reason(value: str) -> HandoffReason:
    return cast(HandoffReason, _one_of(HandoffReason, value))


def tool_call_outcome(value: str | None) -> ToolCallOutcome:
    return cast(ToolCallOutcome, _one_of(ToolCallOutcome, value or ""))


@dataclass(frozen=True, slots=True)
class SourceInfo:
    """A knowledge-base document an answer was grounded on."""

    title: str
    """The document's title."""
    path: str
    """Its path under KB_PATH."""
    url: str | None = None
    """Its public address, when the document names one."""
    cited: bool = False
    """Whether the answer cites it."""


@dataclass(frozen=True, slots=True)
class ToolCallInfo:
    """One tool call made during a turn."""

    name: str
    """The tool's name."""
    arguments: Mapping[str, object] = field(default_factory=dict)
    """The arguments the model gave."""
    outcome: ToolCallOutcome = ""
    """`ok`, `error`, `timeout`, `declined`, `expired` or `cancelled`; "" while it runs."""
    result: str = ""
    """What the model was given back."""


@dataclass(frozen=True, slots=True)
class AnswerEvent:
    """A turn that was answered: what `App.on_answer` hooks receive."""

    chat_id: int
    """The Telegram chat the turn belongs to (0 for the terminal chat)."""
    user_id: int
    """Who asked."""
    language: str
    """The asker's language code (`en`, `ru`, ...)."""
    question: str
    """The question's text."""
    answer: str
    """The answer's stored text (for a failed turn, what was written before the failure)."""
    status: AnswerStatus
    """`complete`, `truncated`, `failed` (a model error or its content filter) or `cancelled`
    (/stop, shutdown)."""
    message_id: int
    """The stored answer's id (the `messages` table)."""
    sources: tuple[SourceInfo, ...] = ()
    """The knowledge-base documents the answer was grounded on."""
    tool_calls: tuple[ToolCallInfo, ...] = ()
    """The tool calls made during the turn, in order."""
    context_providers: tuple[str, ...] = ()
    """The context providers whose text went into the prompt."""
    is_admin: bool = False
    """Whether the asker is one of the bot's admins, as the update's one decision found
    (ADMIN_USER_IDS or the stored admin role; never a business account's customer)."""


@dataclass(frozen=True, slots=True)
class HandoffEvent:
    """A conversation handed to a person (the support desk): what `App.on_handoff` hooks
    receive."""

    chat_id: int
    """The user's private chat."""
    user_id: int
    """Who is handed over."""
    reason: HandoffReason
    """Why: `user_request`, `kb_miss`, `classifier` or `complaint`."""


@dataclass(frozen=True, slots=True)
class RunContext:
    """What `App.on_startup` and `App.on_shutdown` hooks that take an argument receive."""

    bot: Bot
    """The aiogram `Bot` the App runs as (send a message to an admin, read `get_me()`)."""
    settings: Settings
    """fmbot's settings, as the bot runs with them."""
