"""The contract between the tool loop and the places tools come from.

A `ToolSource` (HTTP actions from `TOOLS_FILE`, an MCP server, Python functions) lists
`ToolDefinition`s and runs calls; the `Toolbox` holds every source, offers each user the tools
they may see and routes a call to its source. Who is asking travels in the `ToolContext`, beside
the model's arguments and never inside them. Knows nothing of Telegram or the database: the
conversation core stores each call before it asks the toolbox to run it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol, runtime_checkable

# What a tool's name may be, as the model APIs take it (the tools file, MCP servers and the
# App's functions alike).
NAME_PATTERN = r"^[A-Za-z0-9_-]{1,64}$"
NAME_RULE = "1-64 characters of A-Z, a-z, 0-9, _ and -"

@dataclass(frozen=True, slots=True)
class ToolContext:
    """Who asks, filled by fmbot: never shown to the model, never taken from its arguments.
    Tools and the App's context providers get it built the same way."""

    user_id: int
    """The Telegram user who asks (verified by Telegram, never the model's word)."""
    chat_id: int
    """The chat the question came from."""
    language: str
    """The user's language code (`en`, `ru`, ...)."""
    idempotency_key: str
    """The same for one stored call across retries and restarts (writes send it as
    `Idempotency-Key`); for a context provider, the same for one turn."""
    desk_state: str | None = None
    """The conversation's support-desk state (`bot`, `waiting`, `with_operator`,
    `resolved`), or None when the desk is off."""
    is_admin: bool = False
    """Whether the user is one of the bot's admins."""
    email: str = ""
    """The employee's e-mail address, as the company's identity provider vouched for it
    (signed in with /login: the identity feature); empty when not signed in."""
    groups: tuple[str, ...] = ()
    """The employee's groups at the company (sorted); empty when not signed in."""


@dataclass(frozen=True, slots=True)
class ToolDefinition:
    """A tool as offered to the model, with the bot's own rules for it."""

    name: str
    """The name the model calls it by (letters, digits, `_` and `-`; unique in the bot)."""
    description: str
    """What it does, for the model."""
    parameters: Mapping[str, object] = field(default_factory=dict)
    """JSON Schema of the arguments object."""
    confirm: bool = False
    """Each call waits for the user's press on a stored pending call."""
    admins_only: bool = False
    """Only admins see it (the others see neither the tool nor its description)."""
    writes: bool = False
    """Side-effecting: after a crash with its outcome unknown it is repeated only with the
    same idempotency key (HTTP: every method but GET; MCP and Python: confirmed tools)."""
    source: str = ""
    """Where it comes from, for messages and the audit: "http:<file>", "mcp:<server>",
    "python:<module>"."""
    timeout_s: float = 10.0
    """Seconds a call may take before it is reported to the model as timed out."""
    business: bool = False
    """Offered in business chats too (customers of an account connected to the bot), where
    every other tool is closed; only for tools that neither write nor need a press."""
    title: str = ""
    """The action named for the person asked to confirm it (the description is written for
    the model); empty: the card shows the tool's name."""
    title_ru: str = ""
    """The same in Russian."""
    groups: tuple[str, ...] = ()
    """The company groups (the signed-in employee's, issue 81) whose members alone are
    offered it and may run it, checked again when a call runs; empty: no such limit."""
    approvers: str = ""
    """Who decides each call instead of the asker (`approvers_of`): `"group:NAME"` (each
    signed-in member of the group, privately) or `"chat:ID"` (that chat); empty: none. A tool
    with approvers waits for their press (`confirm` is then true)."""

    def title_in(self, language: str | None) -> str:
        """The confirmation card's name for the action in `language`."""
        if language == "ru" and self.title_ru:
            return self.title_ru
        return self.title or self.name


def approvers_of(value: object) -> str:
    """`approvers` as a tool declares it (`"group:NAME"`, or a chat id as an int or its
    digits) in its stored form (`"group:NAME"`, `"chat:ID"`); "" for none. ValueError with
    one line saying what is wrong."""
    if value is None or value == "":
        return ""
    if isinstance(value, bool):
        raise ValueError(f"approvers {value!r}: give \"group:NAME\" or a chat id")
    if isinstance(value, int):
        return f"chat:{value}"
    if not isinstance(value, str):
        raise ValueError(f"approvers {value!r}: give \"group:NAME\" or a chat id")
    text = value.strip()
    if text.startswith("group:"):
        group = text.removeprefix("group:").strip()
        if not group:
            raise ValueError("approvers \"group:\" names no group: give \"group:NAME\"")
        return f"group:{group}"
    if text.startswith("chat:"):
        text = text.removeprefix("chat:").strip()
    if text.lstrip("-").isdigit() and text.count("-") <= 1:
        return f"chat:{int(text)}"
    raise ValueError(f"approvers {value!r}: give \"group:NAME\" (a company group's signed-in "
                     "members) or a chat id (an integer)")


class ToolOutcome(StrEnum):
    """How a call ended."""

    OK = "ok"
    """It ran; `text` is its result."""
    ERROR = "error"
    """It failed; `text` says why in one short line."""
    TIMEOUT = "timeout"
    """It took longer than the tool's `timeout_s`."""
    DECLINED = "declined"
    """The user pressed Cancel on its confirmation."""
    EXPIRED = "expired"
    """Its confirmation was not pressed in time."""


@dataclass(frozen=True, slots=True)
class ToolRunResult:
    """What a call returned. `text` is what the model is given (as data): the result, or a
    short `error: ...` line (`error: HTTP 500: <short body>`, `error: timed out after 10 s`).
    Never a stack trace."""

    outcome: ToolOutcome
    """How the call ended."""
    text: str
    """What the model is given."""
    detail: str = ""
    """For the audit: HTTP status, MCP isError, ... (free-form, short)."""


class ToolSource(Protocol):
    """One place tools come from."""

    @property
    def name(self) -> str:
        """For messages and logs: "http:tools.toml", "mcp:tracker", "python:mybot"."""
        ...

    def definitions(self) -> Sequence[ToolDefinition]:
        """The tools it offers now (an MCP server not yet reached offers none)."""
        ...

    async def start(self) -> None:
        """Connect (MCP); a server that cannot be reached is retried in the background."""
        ...

    async def close(self) -> None:
        """Release what `start` opened (connections, subprocesses); called once at stop."""
        ...

    async def call(
        self, name: str, arguments: Mapping[str, object], ctx: ToolContext
    ) -> ToolRunResult:
        """Run one call. Tool failures come back as ToolRunResult(ERROR/TIMEOUT), not raised."""
        ...


@runtime_checkable
class DeclaresTools(Protocol):
    """A source whose tools come and go (an MCP server reconnecting lists none for a while)
    but whose rules for them are declared ahead (the tools file's `confirm` list): it says
    what a name's rules are whether or not the tool is offered at this moment."""

    def declared(self, name: str) -> ToolDefinition | None:
        """The rules declared for `name` (confirm, writes, admins only), or None when the
        source does not know it."""
        ...

    def declared_names(self) -> frozenset[str]:
        """Every name the deployment declared for this source ahead of any listing (checked
        against the other sources' names at start: one source per name)."""
        ...
