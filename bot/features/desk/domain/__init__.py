"""The support desk: handoff to people in a forum-topic supergroup, relays, ratings, report.

Knows nothing of Telegram (bot/features/desk/telegram turns its decisions into topics and copies).
"""

from __future__ import annotations

from bot.features.desk.domain.hours import HoursFormatError, SupportHours
from bot.features.desk.domain.service import DeskService
from bot.features.desk.domain.triggers import asks_for_person, is_question, is_thanks
from bot.features.desk.domain.views import (
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
    "is_question",
    "is_thanks",
]
