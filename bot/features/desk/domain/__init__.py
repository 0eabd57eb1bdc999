"""The support desk: handoff to people in a forum-topic supergroup, relays, ratings, report.

Knows nothing of Telegram (bot/features/desk/telegram turns its decisions into topics and copies).
"""

from __future__ import annotations

from bot.features.desk.domain.hours import HoursFormatError, SupportHours
from bot.features.desk.domain.service import DeskService
from bot.features.desk.domain.triggers import asks_for_person, is_question, is_thanks
from bot.features.desk.domain.views import (
    CaseView,
    RatingComment,
    RelayView,
    Requester,
)

__all__ = [
    "CaseView",
    "DeskService",
    "HoursFormatError",
    "RatingComment",
    "RelayView",
    "Requester",
    "SupportHours",
    "asks_for_person",
    "is_question",
    "is_thanks",
]
