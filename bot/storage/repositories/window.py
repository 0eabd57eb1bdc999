"""The prompt window: the newest messages of a conversation that fit a token budget.

Reads on the (conversation_id, id) index, walking back from the newest message:
0. the newest HEAD_ROWS rows, whole: most windows (a short conversation, or a budget spent
   within them) end here, in one statement;
1. past them, a scan of small tuples (id, token_count; the text only where the count is
   unknown) in pages, which finds where the budget runs out;
2. one query for exactly the rest of the window's rows, with their text.
So the cost is the window's, not the history's, and no page of long texts is loaded only to
be thrown away. (Each query is a round trip to aiosqlite's thread, so fewer is faster.)
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import cast

from sqlalchemy import Table, bindparam, case, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.storage.models import Message, MessageRole, MessageStatus

# Statuses whose text goes back into prompts by default (the one definition: the
# conversation core uses it too): cancelled, failed and still-streaming answers are left out;
# INCLUDE_FAILED_IN_PROMPT adds the cancelled and failed ones.
PROMPT_STATUSES: frozenset[MessageStatus] = frozenset(
    {MessageStatus.COMPLETE, MessageStatus.TRUNCATED}
)
SCAN_PAGE = 512
HEAD_ROWS = 32


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


# Statements on the table, not the mapped class: plain rows, so SQLAlchemy's ORM layer (which
# costs about as much again per execution) stays out of it.
_messages = cast(Table, Message.__table__).c

_SCAN = (
    select(
        _messages.id,
        _messages.token_count,
        case((_messages.token_count.is_(None), _messages.text), else_=None),
    )
    .where(
        _messages.conversation_id == bindparam("conversation_id"),
        _messages.status.in_(bindparam("statuses", expanding=True)),
        _messages.id < bindparam("before"),
    )
    .order_by(_messages.id.desc())
    .limit(bindparam("limit"))
)

_COLUMNS = (
    _messages.id,
    _messages.role,
    _messages.text,
    _messages.token_count,
    _messages.status,
    _messages.author_user_id,
    _messages.author_name,
    _messages.created_at,
)

_HEAD = (
    select(*_COLUMNS)
    .where(
        _messages.conversation_id == bindparam("conversation_id"),
        _messages.status.in_(bindparam("statuses", expanding=True)),
    )
    .order_by(_messages.id.desc())
    .limit(bindparam("limit"))
)

_LOAD = (
    select(*_COLUMNS)
    .where(
        _messages.conversation_id == bindparam("conversation_id"),
        _messages.status.in_(bindparam("statuses", expanding=True)),
        _messages.id >= bindparam("first"),
        _messages.id <= bindparam("last"),
    )
    .order_by(_messages.id)
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
    limit = HEAD_ROWS if max_messages is None else min(HEAD_ROWS, max_messages)
    if limit <= 0:
        return []
    head: list[HistoryEntry] = []  # newest first
    spent = 0
    newest = (await session.execute(_HEAD, {**params, "limit": limit})).all()
    for row in newest:
        entry = HistoryEntry(*row)
        cost = entry.token_count
        spent += cost if cost is not None else estimate(entry.text)
        if spent > token_budget:
            if include_overflow:
                head.append(entry)
            return head[::-1]
        head.append(entry)
    if len(newest) < limit or (max_messages is not None and len(head) >= max_messages):
        return head[::-1]
    chosen: list[int] = []  # ids older than the head, newest first
    before = head[-1].id
    done = False
    while not done:
        limit = SCAN_PAGE
        if max_messages is not None:
            limit = min(limit, max_messages - len(head) - len(chosen))
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
        return head[::-1]
    # Bounded by both ends: on PostgreSQL (READ COMMITTED) the second statement could see
    # messages committed after the scan.
    bounds = {"first": chosen[-1], "last": chosen[0]}
    older = (await session.execute(_LOAD, {**params, **bounds})).all()
    return [HistoryEntry(*row) for row in older] + head[::-1]
