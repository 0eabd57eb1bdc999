"""The support desk: handoff to people in a forum-topic supergroup, relays, ratings, report.

Knows nothing of Telegram (bot/telegram/desk turns its decisions into topics and copies).
"""

from __future__ import annotations

from bot.desk.hours import HoursFormatError, SupportHours
from bot.desk.service import DeskService
from bot.desk.triggers import asks_for_person, is_thanks
from bot.desk.views import (
    CaseView,
    Handoff,
    Purge,
    RatingComment,
    RelayView,
    Requester,
    TurnNote,
)

__all__ = [
    "CaseView",
    "DeskService",
    "Handoff",
    "HoursFormatError",
    "Purge",
    "RatingComment",
    "RelayView",
    "Requester",
    "SupportHours",
    "TurnNote",
    "asks_for_person",
    "is_thanks",
]
