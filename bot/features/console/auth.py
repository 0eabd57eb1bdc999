"""Signing in to the console: one-time links, sessions, CSRF tokens and the audit.

A link's token is random (256 bits), signed with a key derived from the bot's token (every
replica derives the same), and stored as a digest with its expiry: any replica honours it,
and the UPDATE that marks it used decides which single request gets the session, however
many race. A session is a random cookie, stored as a digest with its admin, expiry and CSRF
token; nothing secret is stored in the clear.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import logging
import secrets
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import CursorResult, delete, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.features.console.models import ConsoleAudit, ConsoleLink, ConsoleSession
from bot.plugin.storage import utcnow

log = logging.getLogger(__name__)

#: How long a sign-in link may be used.
LINK_TTL = dt.timedelta(minutes=5)




def digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class Signed:
    """A signed-in admin: their Telegram id (0 when signed in with the company's provider,
    then `identity`: the e-mail it vouched for), and the CSRF token their forms carry."""

    user_id: int
    csrf: str
    identity: str = ""

    @property
    def who(self) -> str:
        return self.identity or f"admin {self.user_id}"

    @property
    def audited_id(self) -> int | None:
        """The Telegram id the audit keeps (None for a provider's identity)."""
        return self.user_id or None


class Keys:
    """The console's signing key, derived from a secret every replica shares (the bot's
    token), never the secret itself."""

    def __init__(self, secret: str, purpose: bytes = b"fmbot console links") -> None:
        """`purpose`: what the key signs (a link's key signs nothing else)."""
        self._key = hmac.new(secret.encode(), purpose, hashlib.sha256).digest()

    def sign(self, token: str) -> str:
        mac = hmac.new(self._key, token.encode(), hashlib.sha256).hexdigest()[:32]
        return f"{token}.{mac}"

    def verified(self, signed: str) -> str | None:
        """The token of a signed link, or None when the signature does not match."""
        token = signed.rpartition(".")[0]
        if not token or len(signed) > 1000:
            return None
        return token if hmac.compare_digest(self.sign(token), signed) else None


class Access:
    """Links, sessions and the audit, on the bot's database."""

    def __init__(
        self, sessionmaker: async_sessionmaker[AsyncSession], keys: Keys, session_ttl: int,
        admins: frozenset[int], oidc_admins: frozenset[str] = frozenset(),
    ) -> None:
        """`admins`: ADMIN_USER_IDS; `oidc_admins`: the e-mail addresses that may sign in
        with the company's provider (lower case)."""
        self.sessionmaker = sessionmaker
        self.keys = keys
        self.session_ttl = dt.timedelta(seconds=session_ttl)
        self.admins = admins
        self.oidc_admins = oidc_admins

    async def new_link(self, user_id: int, *, now: dt.datetime | None = None) -> str:
        """A signed one-time token for `user_id`, stored; expired links and sessions go."""
        now = now or utcnow()
        token = secrets.token_urlsafe(32)
        async with self.sessionmaker() as session:
            await session.execute(delete(ConsoleLink).where(ConsoleLink.expires_at < now))
            await session.execute(delete(ConsoleSession).where(ConsoleSession.expires_at < now))
            session.add(ConsoleLink(digest=digest(token), user_id=user_id, created_at=now,
                                    expires_at=now + LINK_TTL))
            await _audit(session, user_id, "link", "a sign-in link was sent")
            await session.commit()
        return self.keys.sign(token)

    async def usable(self, signed: str) -> bool:
        """The link is genuine, unused and not expired (it is not used up by asking)."""
        token = self.keys.verified(signed)
        if token is None:
            return False
        async with self.sessionmaker() as session:
            link = await session.get(ConsoleLink, digest(token))
            await session.commit()
        return link is not None and link.used_at is None and link.expires_at > utcnow()

    async def redeem(self, signed: str) -> tuple[str, Signed] | None:
        """Use the link: a new session's cookie and who it is, or None when the link is not
        genuine, used already (here or on another replica), expired, or no longer an
        admin's. Audited either way."""
        token = self.keys.verified(signed)
        now = utcnow()
        async with self.sessionmaker() as session:
            if token is None:
                await _audit(session, None, "refused", "a link with a bad signature")
                await session.commit()
                return None
            key = digest(token)
            used = await session.execute(
                update(ConsoleLink)
                .where(ConsoleLink.digest == key, ConsoleLink.used_at.is_(None),
                       ConsoleLink.expires_at > now)
                .values(used_at=now)
            )
            link = await session.get(ConsoleLink, key)
            if cast(CursorResult[Any], used).rowcount != 1 or link is None:
                why = "used already" if link is not None and link.used_at else "expired or unknown"
                await _audit(session, link.user_id if link else None, "refused",
                             f"a sign-in link {why}")
                await session.commit()
                return None
            if link.user_id not in self.admins:
                await _audit(session, link.user_id, "refused", "no longer an admin")
                await session.commit()
                return None
            opened = self._open(session, link.user_id, "", now)
            await _audit(session, link.user_id, "signed in", "")
            await session.commit()
        return opened

    def _open(
        self, session: AsyncSession, user_id: int, identity: str, now: dt.datetime
    ) -> tuple[str, Signed]:
        cookie, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        session.add(ConsoleSession(digest=digest(cookie), user_id=user_id, identity=identity,
                                   csrf=csrf, created_at=now,
                                   expires_at=now + self.session_ttl))
        return cookie, Signed(user_id, csrf, identity)

    async def open_for(self, identity: str) -> tuple[str, Signed] | None:
        """A session for the e-mail the company's provider vouched for, or None (audited)
        when it is not one of CONSOLE_OIDC_ADMINS."""
        identity = identity.strip().lower()
        async with self.sessionmaker() as session:
            if identity not in self.oidc_admins:
                await _audit(session, None, "refused",
                             f"the provider's {identity or 'unnamed'} is no admin")
                await session.commit()
                return None
            opened = self._open(session, 0, identity, utcnow())
            await _audit(session, None, "signed in", f"with the provider as {identity}")
            await session.commit()
        return opened

    async def signed(self, cookie: str | None) -> Signed | None:
        """Who the session cookie is, or None (no session, expired, or not an admin now)."""
        if not cookie or len(cookie) > 200:
            return None
        async with self.sessionmaker() as session:
            found = await session.get(ConsoleSession, digest(cookie))
            await session.commit()
        if found is None or found.expires_at <= utcnow():
            return None
        if found.identity:  # the company's provider's: still one of CONSOLE_OIDC_ADMINS
            return Signed(0, found.csrf, found.identity) if (
                found.identity in self.oidc_admins) else None
        return Signed(found.user_id, found.csrf) if found.user_id in self.admins else None

    async def sign_out(self, cookie: str, signed: Signed) -> None:
        async with self.sessionmaker() as session:
            await session.execute(delete(ConsoleSession).where(
                ConsoleSession.digest == digest(cookie)))
            await _audit(session, signed.audited_id, "signed out", signed.identity)
            await session.commit()

    async def audit(self, user_id: int | None, action: str, detail: str = "") -> None:
        async with self.sessionmaker() as session:
            await _audit(session, user_id, action, detail)
            await session.commit()


async def _audit(session: AsyncSession, user_id: int | None, action: str, detail: str) -> None:
    # A log line for the operator's log, a row for the console's own page; neither holds a
    # token or what a customer wrote.
    log.info("console: %s by %s%s", action, user_id if user_id is not None else "someone",
             f" ({detail})" if detail else "")
    session.add(ConsoleAudit(user_id=user_id, action=action, detail=detail[:500]))
