"""One conversation as the console shows it: the transcript (customer, bot, operator) with
each answer's trace beside it, and the desk's facts of it. Bounded to `TRANSCRIPT_LIMIT`
messages."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.features.console.queries import name_of
from bot.plugin.offers import CaseFact, CaseFacts, CaseNote, CaseNotes
from bot.plugin.storage import Chat, Conversation, Message, MessageRole, TraceRepository, User

#: Messages of one conversation the page shows (the first ones).
TRANSCRIPT_LIMIT = 500


@dataclass(frozen=True, slots=True)
class Said:
    """One message of the transcript: who (`customer`, `bot`, `operator`, or `note`: an
    operator's internal note, id 0), their name, the text, and with a bot's answer its status
    and trace."""

    id: int
    who: str
    name: str
    text: str
    at: dt.datetime
    status: str = ""
    trace: Mapping[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class Transcript:
    conversation_id: int
    chat_id: int
    who: str
    opened_at: dt.datetime
    closed_at: dt.datetime | None
    said: list[Said]
    truncated: bool
    fact: CaseFact | None


async def transcript(
    session: AsyncSession, conversation_id: int, facts: CaseFacts | None,
    notes: CaseNotes | None = None,
) -> Transcript | None:
    """The conversation's messages with their traces, the operators' internal notes among
    them by time (`notes`: the desk's), and the desk's facts of it."""
    conversation = await session.get(Conversation, conversation_id)
    if conversation is None:
        return None
    messages = list(await session.scalars(
        select(Message).where(Message.conversation_id == conversation_id)
        .order_by(Message.id).limit(TRANSCRIPT_LIMIT + 1)))
    truncated = len(messages) > TRANSCRIPT_LIMIT
    messages = messages[:TRANSCRIPT_LIMIT]
    answers = [m.id for m in messages if m.role is MessageRole.ASSISTANT]
    traces = await TraceRepository(session).of_answers(answers)
    said = []
    for m in messages:
        if m.role is MessageRole.USER:
            who, name = "customer", m.author_name or ""
        elif m.author_name:  # a person's reply relayed into the chat (the desk's operator)
            who, name = "operator", m.author_name
        else:
            who, name = "bot", m.model or ""
        said.append(Said(m.id, who, name, m.text, m.created_at,
                         m.status.value if m.role is MessageRole.ASSISTANT else "",
                         traces.get(m.id)))
    user = await session.get(User, conversation.chat_id)
    chat = await session.get(Chat, conversation.chat_id)
    title = chat.title or "" if chat else ""
    who = name_of(user) if user else title or str(conversation.chat_id)
    fact = None
    if messages:
        span = [(conversation_id, conversation.chat_id, messages[0].created_at,
                 messages[-1].created_at)]
        if facts is not None:
            fact = (await facts.read(session, span)).get(conversation_id)
        if notes is not None:
            said = _with_notes(said, (await notes.read(session, span)).get(conversation_id, []))
    return Transcript(conversation_id, conversation.chat_id, who, conversation.opened_at,
                      conversation.closed_at, said, truncated, fact)


def _with_notes(said: list[Said], notes: list[CaseNote]) -> list[Said]:
    """`said` with each note before the first message written after it."""
    merged: list[Said] = []
    pending = sorted(notes, key=lambda n: n.at)
    for message in said:
        while pending and pending[0].at <= message.at:
            note = pending.pop(0)
            merged.append(Said(0, "note", note.author, note.text, note.at))
        merged.append(message)
    merged += [Said(0, "note", n.author, n.text, n.at) for n in pending]
    return merged
