"""What features offer each other, and the composition root, through `Built`, by these API
types rather than by their own: a feature that needs one finds it without importing the
feature that offers it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import datetime as dt
    from pathlib import Path

    from sqlalchemy.ext.asyncio import AsyncSession

    from bot.conversation.turn import TurnState
    from bot.conversation.types import ChatRef, Employee, Speaker
    from bot.extending.events import HandoffEvent, RunContext, ToolCallInfo


@dataclass(frozen=True, slots=True)
class PersonState:
    """The state of a user's newest conversation with a person (the support desk's case:
    "open", "closed", ...; None when there is none), as tools and the App's context
    providers see it (`ToolContext.desk_state`)."""

    read: Callable[[int], Awaitable[str | None]]


@dataclass(frozen=True, slots=True)
class EmployeeDirectory:
    """Who the company's employees are on Telegram (the identity feature's sign-ins, read
    now, not as an update found them): a user's employee (None: not signed in), how they are
    named to others (name and e-mail; "" when not signed in), and the Telegram users signed
    in as members of a group (the tools' approvers)."""

    employee: Callable[[int], Awaitable[Employee | None]]
    shown: Callable[[int], Awaitable[str]]
    members: Callable[[str], Awaitable[list[int]]]


@dataclass(frozen=True, slots=True)
class HandoffListener:
    """Told of each handoff to a person (the App's `on_handoff` hooks)."""

    told: Callable[[HandoffEvent], None]


@dataclass(frozen=True, slots=True)
class Lifecycle:
    """Run once the whole bot is built (`"on_startup"`) and when it stops (`"on_shutdown"`):
    the App's lifecycle hooks."""

    run: Callable[[str, RunContext], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class ImageCost:
    """What one image costs in the model's context, in tokens (the vision model's)."""

    tokens: int


@dataclass(frozen=True, slots=True)
class CallsOfAnswer:
    """The tool calls a turn's answer made, in the order they ran (the tool loop's), read in
    the answer's own transaction: what the App's `on_answer` hooks are told."""

    read: Callable[[AsyncSession, TurnState], Awaitable[Sequence[ToolCallInfo]]]


StoreFilter = Callable[["AsyncSession", str, "Speaker", "ChatRef"],
                       Awaitable[dict[str, Any] | None]]
"""The `file_search` filter for an asker in a chat (None: none needed): what leaves the
files they may not read out of the search (issue 81)."""


@dataclass(frozen=True, slots=True)
class StoreFiles:
    """The knowledge base's files in a Yandex Vector Store, as file search cites them: the
    store the last sync wrote to (None before any), a store's file ids -> their paths, and
    how the knowledge base's settings search it (KB_VECTOR_STORE_ID, KB_TOP_K, KB_MODE)."""

    last_store: Callable[[AsyncSession], Awaitable[str | None]]
    paths: Callable[[AsyncSession, str], Awaitable[dict[str, str]]]
    store_id: str = ""
    """The store named by KB_VECTOR_STORE_ID (empty: the one `kb sync` created)."""
    top_k: int = 5
    """Passages a search returns (KB_TOP_K)."""
    strict: bool = False
    """KB_MODE=strict: only the knowledge base answers."""
    access_filter: StoreFilter | None = None
    """The filter file search is given for a turn's asker (who may read what)."""


@dataclass(frozen=True, slots=True)
class CallLines:
    """The last tool calls made in a user's chat, oldest first, one line each: what a person
    taking the conversation over sees of them (the support desk's card)."""

    read: Callable[[int], Awaitable[list[str]]]


@dataclass(frozen=True, slots=True)
class KnowledgeLookup:
    """How close the knowledge base's best passage comes to a text (a score 0..1), for a
    purpose the search's metrics name (`"draft"`, `"gap"`); `passages`: the documents and
    scores of the best passages a text finds (`fmbot eval` explains a failed run with them),
    against `min_score` (KB_MIN_SCORE), below which a passage does not ground an answer."""

    best_score: Callable[[str, str], Awaitable[float]]
    passages: Callable[[str], Awaitable[list[tuple[str, float]]]] | None = None
    min_score: float = 0.0


@dataclass(frozen=True, slots=True)
class NotFoundNextStep:
    """What an answer the sources do not cover tells the user to do next (whom to contact),
    when no person can be asked from the chat itself."""

    text: str


@dataclass(frozen=True, slots=True)
class SimulationModels:
    """The models simulated customers and their judge run on (EVAL_CUSTOMER_MODEL,
    EVAL_JUDGE_MODEL, TEXT_MODEL where unset): what `BotTester.simulate` names in its requests,
    as `fmbot eval` does."""

    customer: str
    judge: str


@dataclass(frozen=True, slots=True)
class CaseFileCheck:
    """`fmbot eval`'s own reading of a case file (the evaluation feature's parser):
    `problem(path)` is why `fmbot eval` would refuse the file at `path`, in one line naming the
    file, the line and the problem (None: it reads it whole). The console checks the eval
    cases it writes with it, so that `fmbot eval` runs them unchanged."""

    problem: Callable[[Path], str | None]


@dataclass(frozen=True, slots=True)
class CaseFact:
    """What the support desk knows of a conversation with a customer: whether a person was
    asked in (`handed_off`, `handoff_reason`), whether the case is closed (`resolved`; None
    while it is open) and how (`resolution`), the customer's rating (`csat`, 1-5), the
    conversation scorer's verdict (`score`, 1-5; `scored_resolved`) with its evidence lines,
    `verified`: scored resolved with the bot alone, and the intent the desk's learning loop
    tagged it with (`intent`)."""

    handed_off: bool = False
    handoff_reason: str | None = None
    resolved: bool | None = None
    resolution: str | None = None
    csat: int | None = None
    csat_comment: str | None = None
    score: int | None = None
    scored_resolved: bool | None = None
    verified: bool = False
    evidence: tuple[str, ...] = ()
    intent: str | None = None


#: A conversation as the desk is asked about it: its key (the caller's), the customer's chat
#: (a private chat's id is the user's) and the span of its messages.
ChatSpan = tuple[int, int, "dt.datetime", "dt.datetime"]


@dataclass(frozen=True, slots=True)
class CaseFacts:
    """The support desk's facts of conversations (the console's filters and pages): for each
    span whose chat had a case over it, the newest such case's `CaseFact`, by the span's
    key. One bounded read per call, in the caller's session."""

    read: Callable[[AsyncSession, Sequence[ChatSpan]], Awaitable[dict[int, CaseFact]]]


@dataclass(frozen=True, slots=True)
class DayFigures:
    """One day of the support desk's report: its conversations, those handed to a person, the
    verified resolution rate (None: none could be verified), the mean CSAT and the mean
    conversation score (None: none that day)."""

    day: dt.date
    conversations: int
    handed_over: int
    verified_rate: float | None
    csat: float | None
    score: float | None


@dataclass(frozen=True, slots=True)
class DeskFigures:
    """The support desk's report figures (`fmbot report`'s) per day over the last `days`,
    today included, and its knowledge gaps: the questions answered "not found" with how
    often, the most frequent first."""

    read: Callable[[int], Awaitable[tuple[list[DayFigures], list[tuple[str, int]]]]]


@dataclass(frozen=True, slots=True)
class ScoredCase:
    """A conversation the support desk's scorer read (`scored_resolved`, `score` 1-5, its
    evidence), with what people said of it: the customer's CSAT, whether an operator closed
    it as resolved (/close)."""

    case_id: int
    user_id: int
    opened_at: dt.datetime
    scored_resolved: bool
    score: int | None
    csat: int | None
    closed_by_operator: bool
    evidence: str = ""


@dataclass(frozen=True, slots=True)
class ScoredCases:
    """The scorer's verdicts since a time, the newest first, at most `limit`, in the caller's
    session: what the console checks the judge against people with."""

    read: Callable[[AsyncSession, dt.datetime, int], Awaitable[list[ScoredCase]]]


@dataclass(frozen=True, slots=True)
class CaseNote:
    """An operator's internal note on a customer's case: when, who, what."""

    at: dt.datetime
    author: str
    text: str


@dataclass(frozen=True, slots=True)
class CaseNotes:
    """The operators' internal notes of the cases over each conversation's span (a
    `ChatSpan` each), by the span's key, oldest first: the console's transcript shows them."""

    read: Callable[[AsyncSession, Sequence[ChatSpan]], Awaitable[dict[int, list[CaseNote]]]]
