"""Value types of the conversation core."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol

from bot.foundation_models.errors import FoundationModelsError
from bot.foundation_models.types import Usage
from bot.storage.models import MessageStatus

GROUP_TYPES = frozenset({"group", "supergroup"})

# The message of a cancellation that relinquishes a running turn (several replicas: the
# chat's or the poller's lease was lost, so another replica takes the chat over). Unlike
# /stop or shutdown, the answer is not finalised: it is left `streaming`, and the replica
# taking the chat over removes what was shown and answers the question again.
RELINQUISHED = "fmbot: turn relinquished to another replica"


def relinquished(exc: BaseException) -> bool:
    """Whether `exc` is the CancelledError of `task.cancel(RELINQUISHED)`."""
    return bool(exc.args) and exc.args[0] == RELINQUISHED


class ContentFilteredError(FoundationModelsError):
    """The model withheld its answer (CONTENT_FILTER); `text` is what it sent instead."""

    def __init__(self, text: str) -> None:
        super().__init__("the model withheld its answer (content filter)")
        self.text = text


class TelegramFile(Protocol):
    """A file kept by Telegram, fetched again by its id (an image stored with an earlier
    question, shown to the model again)."""

    @property
    def file_id(self) -> str: ...

    @property
    def file_unique_id(self) -> str: ...


@dataclass(frozen=True, slots=True)
class ImageInput:
    """An image of the new question, ready for the model (JPEG) and for storage."""

    file_id: str
    file_unique_id: str
    jpeg: bytes
    width: int
    height: int


@dataclass(frozen=True)
class Employee:
    """Who the asker is at the company, as its identity provider vouched for them (issue 81):
    the subject, the e-mail address and the groups (what they may read, which tools)."""

    subject: str
    email: str = ""
    groups: frozenset[str] = frozenset()


class SignedIn:
    """Employees signed in without the company's provider: the test kit's test users given
    groups and `fmbot eval`'s simulated customers of a case naming `groups`. Never built by
    `fmbot run`. Read as the identity feature's sign-ins are: by the admission (the update's
    employee) and through the employee directory (the tools' groups and approvers)."""

    def __init__(self) -> None:
        self._by_user: dict[int, tuple[Employee, str]] = {}

    def sign_in(self, user_id: int, employee: Employee, shown: str = "") -> None:
        """`shown`: how others see them named (the approvers' cards); the e-mail if empty."""
        self._by_user[user_id] = (employee, shown or employee.email or employee.subject)

    async def of(self, user_id: int) -> Employee | None:
        found = self._by_user.get(user_id)
        return found[0] if found is not None else None

    async def shown(self, user_id: int) -> str:
        found = self._by_user.get(user_id)
        return found[1] if found is not None else ""

    async def members(self, group: str) -> list[int]:
        return sorted(uid for uid, (employee, _) in self._by_user.items()
                      if group in employee.groups)


@dataclass(frozen=True)
class Speaker:
    user_id: int
    display_name: str
    language: str | None = None
    # The update's one decision (the Principal's `is_admin`), carried to what the turn runs
    # (admin-only tools, the tools' limits, the App's ToolContext); a turn resumed without an
    # update is judged again by the same rule (AccessPolicy.is_admin).
    is_admin: bool = False
    # The update's employee (the Principal's): None when not signed in, and for a turn resumed
    # without an update, which then reads only what every admitted user may.
    employee: Employee | None = None


@dataclass(frozen=True)
class ChatRef:
    chat_id: int
    type: str  # "private" | "group" | "supergroup"
    title: str | None = None
    # Nothing outside the conversation may change from this chat's turns: tools that write
    # (or need a press) are neither offered nor run (a chat answered on someone's behalf).
    read_only: bool = False
    # The surface of a chat the deployment does not own ("business": a connected account's
    # chat, bot/telegram/admission.py); "" for its own chats. There a tool is offered only
    # if declared safe for that surface.
    surface: str = ""

    @property
    def is_group(self) -> bool:
        return self.type in GROUP_TYPES


@dataclass(frozen=True)
class TurnResult:
    message_id: int  # the answer's database id
    text: str
    status: MessageStatus
    usage: Usage | None
    trimmed_history: bool  # older turns were left out of the prompt (or cut)
    error: Exception | None
    user_message_id: int = 0
    model: str = ""
    # The Telegram messages stored with the answer (those that showed it while it streamed).
    telegram_message_ids: tuple[int, ...] = ()
    # The features' slots of the turn (TurnState.parts), by their type: what a feature
    # learned about the turn, read by its own part of the front end (the tool loop's: the
    # calls waiting for the user's press when the status is `waiting`, a limit reached); the
    # turn's grounding too (its sources, "not found": `bot.grounding.turn.grounded_of`).
    parts: Mapping[type, object] = field(default_factory=dict, compare=False, repr=False)
    # Set when the database was away as the answer ended: the text is kept here and stored
    # once the database is back (retried with backoff); done when it is stored. The front
    # end delivers the answer at once and notes its delivery after this.
    saving: asyncio.Task[None] | None = field(default=None, compare=False, repr=False)
    # Why the answer is suspended (status `waiting`): the reason the feature that suspended
    # it gave (the tool loop's "press"); its part of the front end shows what it waits for.
    suspended: str | None = None


def language_code(code: str | None) -> str:
    """A user's language as a short code: "ru-RU" -> "ru"; none -> "en"."""
    return (code or "en").split("-")[0].lower() or "en"
