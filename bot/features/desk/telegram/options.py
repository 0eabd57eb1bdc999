"""What the support desk is told at start: the support chat, its hours, and its extras."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from bot.features.desk.domain import SupportHours


@dataclass(frozen=True, slots=True)
class DeskOptions:
    support_chat_id: int
    hours: SupportHours
    csat: bool = True
    feedback_buttons: bool = False  # KB_MODE=strict: 👍/👎 under every answer
    summary_model: str = "yandexgpt-lite/latest"
    retention_days: int = 0
    # ADMIN_USER_IDS: told when the support chat cannot take handoffs (no Topics, bot removed).
    admins: tuple[int, ...] = ()
    # DESK_IDLE_HOURS: a bot-only conversation is over (scored, "assumed") after this quiet.
    idle: dt.timedelta = dt.timedelta(hours=24)
