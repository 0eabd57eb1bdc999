"""What the console's list reads: the conversations of a day, filtered and paged, with who
each is with and what they asked first. Bounded: a day's conversations to `DAY_LIMIT`."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.plugin.offers import CaseFact, CaseFacts
from bot.plugin.storage import (
    AnswerTrace,
    Chat,
    Conversation,
    Message,
    MessageRole,
    User,
)

#: Conversations of one day the list considers (the newest first).
DAY_LIMIT = 2000
#: Rows on a page of the list.
PAGE = 50
#: The longest text search and filter value taken.
MAX_TEXT = 200


def _text(value: str | None) -> str:
    return (value or "").strip()[:MAX_TEXT]


def _yes_no(value: str | None) -> bool | None:
    return {"yes": True, "no": False}.get((value or "").strip())


def _int(value: str | None, low: int, high: int) -> int | None:
    text = (value or "").strip()
    if not text.isdigit():
        return None
    return min(max(int(text), low), high)


@dataclass(frozen=True, slots=True)
class Filters:
    """The list's filters, read from the query string (anything unreadable is ignored)."""

    day: dt.date
    handed_off: bool | None = None
    resolved: bool | None = None
    verified: bool | None = None
    csat_max: int | None = None  # CSAT at most this (1-5)
    score_max: int | None = None  # the scorer's score at most this (1-5)
    intent: str = ""  # the desk's intent tag, as its learning loop wrote it
    tool: str = ""
    document: str = ""
    not_found: bool | None = None
    q: str = ""
    page: int = 1

    @classmethod
    def read(cls, query: Mapping[str, str], today: dt.date) -> Filters:
        try:
            day = dt.date.fromisoformat(query.get("day", "")[:10])
        except ValueError:
            day = today
        return cls(
            day=day,
            handed_off=_yes_no(query.get("handed_off")),
            resolved=_yes_no(query.get("resolved")),
            verified=_yes_no(query.get("verified")),
            csat_max=_int(query.get("csat_max"), 1, 5),
            score_max=_int(query.get("score_max"), 1, 5),
            intent=_text(query.get("intent")),
            tool=_text(query.get("tool")),
            document=_text(query.get("document")),
            not_found=_yes_no(query.get("not_found")),
            q=_text(query.get("q")),
            page=_int(query.get("page"), 1, DAY_LIMIT // PAGE + 1) or 1,
        )

    @property
    def needs_desk(self) -> bool:
        return bool(self.intent) or any(
            v is not None for v in (self.handed_off, self.resolved, self.verified,
                                    self.csat_max, self.score_max))

    def query(self, **changes: object) -> dict[str, str]:
        """The filters as a query string's values (for links: the next page, another day)."""
        values: dict[str, object] = {
            "day": self.day.isoformat(), "handed_off": self.handed_off,
            "resolved": self.resolved, "verified": self.verified, "csat_max": self.csat_max,
            "score_max": self.score_max, "intent": self.intent, "tool": self.tool,
            "document": self.document,
            "not_found": self.not_found, "q": self.q, "page": self.page,
        }
        values.update(changes)
        out: dict[str, str] = {}
        for key, value in values.items():
            if value is None or value == "":
                continue
            out[key] = ("yes" if value else "no") if isinstance(value, bool) else str(value)
        return out


@dataclass(slots=True)
class Row:
    conversation_id: int
    chat_id: int
    messages: int
    first_at: dt.datetime
    last_at: dt.datetime
    tags: set[str] = field(default_factory=set)
    who: str = ""
    chat_type: str = ""
    opening: str = ""
    fact: CaseFact | None = None

    @property
    def tools(self) -> list[str]:
        return sorted(t.removeprefix("tool:") for t in self.tags if t.startswith("tool:"))

    @property
    def documents(self) -> list[str]:
        return sorted(t.removeprefix("doc:") for t in self.tags if t.startswith("doc:"))

    @property
    def not_found(self) -> bool:
        return "notfound" in self.tags


@dataclass(frozen=True, slots=True)
class Listing:
    rows: list[Row]
    total: int  # rows that pass the filters (within DAY_LIMIT)
    truncated: bool  # the day had more conversations than DAY_LIMIT


def window(day: dt.date) -> tuple[dt.datetime, dt.datetime]:
    start = dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC)
    return start, start + dt.timedelta(days=1)


def _like(text: str) -> str:
    escaped = text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


async def conversations(
    session: AsyncSession, filters: Filters, facts: CaseFacts | None
) -> Listing:
    """The day's conversations (those with a message that day, the latest first) that pass
    the filters, one page of them with who, the first question, and the desk's facts."""
    start, end = window(filters.day)
    active = await session.execute(
        select(Message.conversation_id, func.count(Message.id), func.min(Message.created_at),
               func.max(Message.created_at))
        .where(Message.created_at >= start, Message.created_at < end)
        .group_by(Message.conversation_id)
        .order_by(func.max(Message.created_at).desc())
        .limit(DAY_LIMIT + 1)
    )
    found = list(active)
    truncated = len(found) > DAY_LIMIT
    rows = {int(cid): Row(int(cid), 0, int(n), _utc(first), _utc(last))
            for cid, n, first, last in found[:DAY_LIMIT]}
    if not rows:
        return Listing([], 0, False)
    ids = list(rows)
    for cid, chat_id in await session.execute(
            select(Conversation.id, Conversation.chat_id).where(Conversation.id.in_(ids))):
        rows[cid].chat_id = chat_id
    tagged = await session.execute(
        select(Message.conversation_id, AnswerTrace.tags)
        .join(AnswerTrace, AnswerTrace.answer_id == Message.id)
        .where(Message.conversation_id.in_(ids), Message.created_at >= start,
               Message.created_at < end, AnswerTrace.tags != "")
    )
    for cid, tags in tagged:
        rows[cid].tags.update(t for t in tags.split("\n") if t)
    kept = [row for row in rows.values() if _passes_traces(row, filters)]
    if filters.q and kept:
        matching = set(await session.scalars(
            select(Message.conversation_id).distinct()
            .where(Message.conversation_id.in_([r.conversation_id for r in kept]),
                   func.lower(Message.text).like(_like(filters.q), escape="\\"))
        ))
        kept = [row for row in kept if row.conversation_id in matching]
    if facts is not None and kept:
        spans = [(r.conversation_id, r.chat_id, r.first_at, r.last_at) for r in kept]
        known = await facts.read(session, spans)
        for row in kept:
            row.fact = known.get(row.conversation_id)
    if filters.needs_desk:
        kept = [row for row in kept if _passes_desk(row.fact or CaseFact(), filters)]
    kept.sort(key=lambda r: (r.last_at, r.conversation_id), reverse=True)
    page = kept[(filters.page - 1) * PAGE: filters.page * PAGE]
    await _describe(session, page)
    return Listing(page, len(kept), truncated)


def _passes_traces(row: Row, f: Filters) -> bool:
    if f.tool and f"tool:{f.tool}" not in row.tags:
        return False
    if f.document and not any(f.document.lower() in d.lower() for d in row.documents):
        return False
    return f.not_found is None or f.not_found == row.not_found


def _passes_desk(fact: CaseFact, f: Filters) -> bool:
    if f.handed_off is not None and fact.handed_off != f.handed_off:
        return False
    if f.resolved is not None and bool(fact.resolved) != f.resolved:
        return False
    if f.verified is not None and fact.verified != f.verified:
        return False
    if f.csat_max is not None and (fact.csat is None or fact.csat > f.csat_max):
        return False
    if f.intent and (fact.intent or "").casefold() != f.intent.casefold():
        return False
    return f.score_max is None or (fact.score is not None and fact.score <= f.score_max)


async def _describe(session: AsyncSession, page: list[Row]) -> None:
    """Who each row is with and what they asked first."""
    if not page:
        return
    chat_ids = [r.chat_id for r in page]
    chats = {c.id: c for c in await session.scalars(select(Chat).where(Chat.id.in_(chat_ids)))}
    users = {u.id: u for u in await session.scalars(select(User).where(User.id.in_(chat_ids)))}
    firsts = (select(func.min(Message.id))
              .where(Message.conversation_id.in_([r.conversation_id for r in page]),
                     Message.role == MessageRole.USER)
              .group_by(Message.conversation_id))
    # Not dict(result): a Result has keys(), so dict() would take it for a mapping.
    openings = {cid: text for cid, text in await session.execute(
        select(Message.conversation_id, Message.text).where(Message.id.in_(firsts)))}
    for row in page:
        chat, user = chats.get(row.chat_id), users.get(row.chat_id)
        row.chat_type = chat.type if chat else ""
        row.who = name_of(user) if user else (chat.title or "" if chat else "") or str(row.chat_id)
        row.opening = (openings.get(row.conversation_id) or "")[:160]


def name_of(user: User) -> str:
    name = " ".join(p for p in (user.first_name, user.last_name) if p)
    return f"{name} (@{user.username})" if user.username else name or str(user.id)


def _utc(value: dt.datetime) -> dt.datetime:
    # SQLite's aggregates come back as naive datetimes (or text): UTC, as stored.
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)
