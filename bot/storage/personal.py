"""A feature's own tables of personal data, for erasure (/forget) and retention.

The core's PrivacyRepository knows its own tables; a feature keeping rows about a user (the
images feature's jobs, the voice feature's spoken answers, choices and transcripts, the
documents sent in chat) registers its tables here when its models are imported, and the
repository erases them with the rest. The composition root imports every feature's tables
(bot.features.installed.load_tables) before anything is erased.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement


@dataclass(frozen=True, slots=True)
class PersonalTable:
    """`model`: an ORM model whose rows go with their user on /forget, found by its `owner`
    column (`user_id` unless named). `expired(cutoff)`: the rows retention removes (None: kept
    until /forget)."""

    model: Any
    expired: Callable[[dt.datetime], ColumnElement[bool]] | None = None
    owner: str = "user_id"

    @property
    def name(self) -> str:
        """The table's name (the reports count its rows under it)."""
        return str(self.model.__tablename__)

    def owned_by(self, user_id: int) -> ColumnElement[bool]:
        """The rows of `user_id`."""
        column: ColumnElement[Any] = getattr(self.model, self.owner)
        return column == user_id


_TABLES: list[PersonalTable] = []


def register_personal(*tables: PersonalTable) -> None:
    """Add a feature's tables (once each, in the order given)."""
    for table in tables:
        if all(known.model is not table.model for known in _TABLES):
            _TABLES.append(table)


def personal_tables() -> tuple[PersonalTable, ...]:
    """The features' tables registered so far, in registration order."""
    return tuple(_TABLES)
