"""The identity feature's tables: the sign-ins under way (a state bound to one Telegram
user, single-use, expiring) and each Telegram user's binding to the employee the company's
provider vouched for."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from bot.plugin.storage import Base, utcnow


class IdentityFlow(Base):
    """A sign-in sent to a user and not back yet: only its state's digest is the key."""

    __tablename__ = "identity_flows"

    digest: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(BigInteger, index=True)
    chat_id: Mapped[int] = mapped_column(BigInteger)
    nonce: Mapped[str] = mapped_column(String(64))
    verifier: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column()


class IdentityBinding(Base):
    """A Telegram user signed in as an employee, until `expires_at` (IDENTITY_TTL)."""

    __tablename__ = "identity_bindings"

    user_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    subject: Mapped[str] = mapped_column(String(200))
    name: Mapped[str] = mapped_column(String(200), default="")
    email: Mapped[str] = mapped_column(String(320), default="")
    groups: Mapped[str] = mapped_column(Text, default="[]")  # a JSON list of names
    signed_in_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column()
