"""What the bot did in answer to one thing a test user did: a `Reply`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bot.extending.events import SourceInfo, ToolCallInfo
from bot.testing.telegram import SentCall, Shown


@dataclass(frozen=True, slots=True)
class Reply:
    """What the user sees after a message or a press, and what happened behind it."""

    messages: tuple[Shown, ...]
    """The messages the bot sent in answer, as the chat shows them now (edits applied)."""
    drafts: tuple[str, ...]
    """What streamed before the answer settled: each draft (private chats; a rich draft's
    Markdown) or intermediate edit (groups) in order."""
    calls: tuple[SentCall, ...]
    """Every Bot API call made in answer, in order (in that chat, and a press's answer)."""
    sources: tuple[SourceInfo, ...] = ()
    """The knowledge-base documents the answer was grounded on (`cited`: the answer cites
    it)."""
    tool_calls: tuple[ToolCallInfo, ...] = ()
    """The tool calls of the turn, in order: name, arguments, outcome (`ok`, `error`,
    `declined`...) and result; a call waiting for a press has no outcome yet."""
    traces: tuple[dict[str, Any], ...] = ()
    """The stored traces of the turn's answers, in order: each a dict of the features'
    entries (`"model"`, `"knowledge"`, `"tools"`, `"grounding"`...), as the console reads
    them."""
    status: str = ""
    """The stored answer's status (`complete`, `waiting` for a press, `failed`...), or empty
    when no model turn ran (a command)."""

    @property
    def text(self) -> str:
        """The text of the messages sent, joined by a blank line."""
        return "\n\n".join(m.text for m in self.messages if not m.deleted and m.text)

    @property
    def rich(self) -> list[dict[str, Any]]:
        """The rich messages sent (Bot API 10.1: a table, a heading, math or a nested list),
        each as the bot sent it: an `InputRichMessage` such as `{"markdown": "| a | b |..."}`.
        Empty when the answer went as text (`RICH_MESSAGES=off`, or Telegram refused it)."""
        return [m.rich for m in self.messages if not m.deleted and m.rich is not None]

    @property
    def ephemeral(self) -> tuple[Shown, ...]:
        """The messages only one member sees (`Shown.receiver`): in a group, what concerns
        the user alone (a limit reached, a refusal, a button that is not theirs)."""
        return tuple(m for m in self.messages if m.receiver is not None and not m.deleted)

    def seen_by(self, user_id: int) -> tuple[Shown, ...]:
        """The messages sent in answer that `user_id` sees: every member's, and those to
        them alone."""
        return tuple(m for m in self.messages
                     if not m.deleted and m.receiver in (None, user_id))

    @property
    def buttons(self) -> list[str]:
        """The inline buttons under the messages sent, in order (their texts)."""
        return [text for m in self.messages if not m.deleted for text in m.button_texts()]

    def __str__(self) -> str:
        return self.text
