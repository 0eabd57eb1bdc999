"""The sign-ins under way and the bindings, in fmbot's database (any replica honours them;
a state is taken once among all: one DELETE ... RETURNING)."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.features.identity.models import IdentityBinding, IdentityFlow
from bot.plugin.conversation import Employee
from bot.plugin.oidc import Flow, Identity
from bot.plugin.storage import UserRepository, utcnow

#: How long a sign-in button works.
FLOW_TTL = dt.timedelta(minutes=10)


def digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class Pending:
    """A sign-in taken back from the store by its state: whose, from which chat."""

    user_id: int
    chat_id: int
    flow: Flow


@dataclass(frozen=True, slots=True)
class Binding:
    """Who a Telegram user is signed in as, until when."""

    subject: str
    name: str
    email: str
    groups: tuple[str, ...]
    expires_at: dt.datetime

    @property
    def shown(self) -> str:
        who = self.name or self.subject
        return f"{who} <{self.email}>" if self.email else who


class Identities:
    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession],
                 ttl: dt.timedelta) -> None:
        self.sessionmaker = sessionmaker
        self.ttl = ttl

    async def start(self, user_id: int, chat_id: int) -> Flow:
        """A new sign-in for this user; their older ones under way are dropped."""
        flow = Flow.new()
        now = utcnow()
        async with self.sessionmaker() as session:
            await session.execute(delete(IdentityFlow).where(
                (IdentityFlow.user_id == user_id) | (IdentityFlow.expires_at < now)))
            session.add(IdentityFlow(digest=digest(flow.state), user_id=user_id,
                                     chat_id=chat_id, nonce=flow.nonce,
                                     verifier=flow.verifier, expires_at=now + FLOW_TTL))
            await session.commit()
        return flow

    async def take(self, state: str) -> Pending | None:
        """The sign-in of this state, once (None: unknown, used, or older than 10 minutes)."""
        async with self.sessionmaker() as session:
            row = (await session.execute(
                delete(IdentityFlow).where(IdentityFlow.digest == digest(state[:200]))
                .returning(IdentityFlow.user_id, IdentityFlow.chat_id, IdentityFlow.nonce,
                           IdentityFlow.verifier, IdentityFlow.expires_at))).first()
            await session.commit()
        if row is None or _aware(row.expires_at) < utcnow():
            return None
        return Pending(row.user_id, row.chat_id, Flow(state, row.nonce, row.verifier))

    async def bind(self, user_id: int, identity: Identity) -> Binding:
        now = utcnow()
        # An address the provider says is not verified is not kept: tools trust the e-mail.
        email = identity.email if identity.email_verified else ""
        employee = Binding(identity.subject, identity.name, email, identity.groups,
                           now + self.ttl)
        async with self.sessionmaker() as session:
            await session.execute(delete(IdentityBinding).where(
                IdentityBinding.user_id == user_id))
            session.add(IdentityBinding(
                user_id=user_id, subject=employee.subject, name=employee.name,
                email=employee.email, groups=json.dumps(list(employee.groups)),
                signed_in_at=now, expires_at=employee.expires_at))
            await session.commit()
        return employee

    async def of(self, user_id: int) -> Binding | None:
        """Who this user is signed in as; None when never, signed out or expired."""
        async with self.sessionmaker() as session:
            row = await session.scalar(select(IdentityBinding).where(
                IdentityBinding.user_id == user_id))
        if row is None or _aware(row.expires_at) <= utcnow():
            return None
        return Binding(row.subject, row.name, row.email, _groups(row.groups),
                       _aware(row.expires_at))

    async def expired(self, user_id: int) -> bool:
        """Whether this user was signed in and their binding has run out (or /logout)."""
        async with self.sessionmaker() as session:
            until = await session.scalar(select(IdentityBinding.expires_at).where(
                IdentityBinding.user_id == user_id))
        return until is not None and _aware(until) <= utcnow()

    async def language(self, user_id: int) -> str | None:
        """The language this user last wrote to the bot in (the callback's page and line)."""
        async with self.sessionmaker() as session:
            user = await UserRepository(session).get(user_id)
        return user.language if user is not None else None

    async def sign_out(self, user_id: int) -> bool:
        """/logout: the binding is removed (a later message is "not signed in", not
        "expired"). Whether one was live."""
        async with self.sessionmaker() as session:
            until = (await session.execute(delete(IdentityBinding).where(
                IdentityBinding.user_id == user_id).returning(IdentityBinding.expires_at))
            ).scalar()
            await session.commit()
        return until is not None and _aware(until) > utcnow()

    async def employee(self, user_id: int) -> Employee | None:
        """The Principal's employee (`Employees`, bot/telegram/admission.py)."""
        found = await self.of(user_id)
        if found is None:
            return None
        return Employee(found.subject, found.email, frozenset(found.groups))

    async def shown(self, user_id: int) -> str:
        """How a signed-in user is named to others (name and e-mail); "" when not."""
        found = await self.of(user_id)
        return found.shown if found is not None else ""

    async def members(self, group: str) -> list[int]:
        """The Telegram users signed in now as members of `group`, in id order."""
        async with self.sessionmaker() as session:
            rows = (await session.execute(
                select(IdentityBinding.user_id, IdentityBinding.groups)
                .where(IdentityBinding.expires_at > utcnow())
                .order_by(IdentityBinding.user_id))).all()
        return [row.user_id for row in rows if group in _groups(row.groups)]

    async def forget(self, user_id: int) -> bool:
        """/forget: the binding and the sign-ins under way removed. Whether there was one."""
        async with self.sessionmaker() as session:
            done = await session.execute(delete(IdentityBinding).where(
                IdentityBinding.user_id == user_id))
            await session.execute(delete(IdentityFlow).where(IdentityFlow.user_id == user_id))
            await session.commit()
        return bool(getattr(done, "rowcount", 0))


def _groups(stored: str | None) -> tuple[str, ...]:
    groups = json.loads(stored or "[]")
    return tuple(g for g in groups if isinstance(g, str)) if isinstance(groups, list) else ()


def _aware(moment: dt.datetime) -> dt.datetime:
    """SQLite gives naive datetimes back: they are UTC."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=dt.UTC)
