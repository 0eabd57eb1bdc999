"""The prompt window: the newest messages of a conversation that fit a token budget.

Two reads, both on the (conversation_id, id) index, walking back from the newest message:
1. a scan of small tuples (id, token_count; the text only where the count is unknown) in
   pages, which finds where the budget runs out;
2. one query for exactly the window's rows, with their text.
So the cost is the window's, not the history's, and no page of long texts is loaded only to
be thrown away. (Each query is a round trip to aiosqlite's thread, so fewer is faster.)
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Collection
from dataclasses import dataclass

from sqlalchemy import bindparam, case, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.storage.models import Message, MessageRole, MessageStatus

# Statuses whose text goes back into prompts by default: a cancelled answer is what the user
# saw and stopped; failed and still-streaming answers are left out.
PROMPT_STATUSES: frozenset[MessageStatus] = frozenset(
    {MessageStatus.COMPLETE, MessageStatus.TRUNCATED, MessageStatus.CANCELLED}
)
SCAN_PAGE = 512
_NO_ID = 2**63 - 1


def chars_as_tokens(text: str) -> int:
    """Fallback cost of a message whose token count is unknown: one token per character.

    Pessimistic on purpose (real tokenizers give several characters per token); callers with a
    better estimate pass it to `recent_for_prompt(estimate=...)`.
    """
    return len(text)


@dataclass(frozen=True, slots=True)
class HistoryEntry:
    """A message as the prompt builder needs it (a plain row, not a tracked ORM object)."""

    id: int
    role: MessageRole
    text: str
    token_count: int | None
    status: MessageStatus
    author_user_id: int | None
    author_name: str | None
    created_at: dt.datetime


_SCAN = (
    select(
        Message.id,
        Message.token_count,
        case((Message.token_count.is_(None), Message.text), else_=None),
    )
    .where(
        Message.conversation_id == bindparam("conversation_id"),
        Message.status.in_(bindparam("statuses", expanding=True)),
        Message.id < bindparam("before"),
    )
    .order_by(Message.id.desc())
    .limit(bindparam("limit"))
)

_LOAD = (
    select(
        Message.id,
        Message.role,
        Message.text,
        Message.token_count,
        Message.status,
        Message.author_user_id,
        Message.author_name,
        Message.created_at,
    )
    .where(
        Message.conversation_id == bindparam("conversation_id"),
        Message.status.in_(bindparam("statuses", expanding=True)),
        Message.id >= bindparam("first"),
        Message.id <= bindparam("last"),
    )
    .order_by(Message.id)
)


async def read_window(
    session: AsyncSession,
    conversation_id: int,
    token_budget: int,
    statuses: Collection[MessageStatus] = PROMPT_STATUSES,
    *,
    include_overflow: bool = True,
    estimate: Callable[[str], int] = chars_as_tokens,
    max_messages: int | None = None,
) -> list[HistoryEntry]:
    """See MessageRepository.recent_for_prompt."""
    params = {"conversation_id": conversation_id, "statuses": sorted(statuses)}
    chosen: list[int] = []  # ids, newest first
    spent = 0
    before = _NO_ID
    done = False
    while not done:
        limit = SCAN_PAGE
        if max_messages is not None:
            limit = min(limit, max_messages - len(chosen))
            if limit <= 0:
                break
        rows = (await session.execute(_SCAN, {**params, "before": before, "limit": limit})).all()
        for message_id, token_count, text in rows:
            spent += token_count if token_count is not None else estimate(text)
            if spent > token_budget:
                if include_overflow:
                    chosen.append(message_id)
                done = True
                break
            chosen.append(message_id)
        if len(rows) < limit:
            break
        before = rows[-1][0]
    if not chosen:
        return []
    # Bounded by both ends: on PostgreSQL (READ COMMITTED) the second statement could see
    # messages committed after the scan.
    bounds = {"first": chosen[-1], "last": chosen[0]}
    rows = (await session.execute(_LOAD, {**params, **bounds})).all()
    return [HistoryEntry(*row) for row in rows]
