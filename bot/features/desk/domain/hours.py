"""SUPPORT_HOURS: when people answer ("Mon-Fri 09:00-18:00; Sat 10:00-14:00"), in a time zone.

Used to tell a user handed over outside the hours when the desk opens, and to measure the time
to the first operator reply within the hours (as Zendesk and Chatwoot report business hours).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from bot.features.desk.settings import HoursFormatError, Windows, parse_hours

__all__ = ["HoursFormatError", "SupportHours"]


@dataclass(frozen=True, slots=True)
class SupportHours:
    """Open minutes per weekday (0 = Monday) as (start, end) minute pairs; empty = always."""

    windows: Windows
    zone: ZoneInfo

    @classmethod
    def parse(cls, spec: str, timezone: str = "UTC") -> SupportHours:
        """SUPPORT_HOURS in SUPPORT_TIMEZONE (the form is read by the desk's settings)."""
        zone = ZoneInfo(timezone)
        return cls(parse_hours(spec), zone)

    @property
    def always(self) -> bool:
        return not self.windows

    def is_open(self, at: dt.datetime) -> bool:
        if self.always:
            return True
        local = at.astimezone(self.zone)
        minute = local.hour * 60 + local.minute
        return any(s <= minute < e for s, e in self.windows[local.weekday()])

    def next_open(self, at: dt.datetime) -> dt.datetime:
        """``at`` itself when open, else the next moment the desk opens (aware, desk's zone)."""
        local = at.astimezone(self.zone)
        if self.is_open(at):
            return local
        for offset in range(8):
            day = (local + dt.timedelta(days=offset)).date()
            for start, _ in self.windows[day.weekday()]:
                moment = dt.datetime.combine(
                    day, dt.time(start // 60, start % 60), tzinfo=self.zone
                )
                if moment > local:
                    return moment
        raise HoursFormatError("SUPPORT_HOURS has no open time")  # parse() forbids this

    def open_seconds(self, start: dt.datetime, end: dt.datetime) -> float:
        """Seconds between ``start`` and ``end`` that fall within the hours."""
        if end <= start:
            return 0.0
        if self.always:
            return (end - start).total_seconds()
        total = 0.0
        local_start, local_end = start.astimezone(self.zone), end.astimezone(self.zone)
        day = local_start.date()
        while day <= local_end.date():
            for s, e in self.windows[day.weekday()]:
                w1 = dt.datetime.combine(day, dt.time(s // 60, s % 60), tzinfo=self.zone)
                w2 = (
                    dt.datetime.combine(day, dt.time(0), tzinfo=self.zone) + dt.timedelta(days=1)
                    if e == 24 * 60
                    else dt.datetime.combine(day, dt.time(e // 60, e % 60), tzinfo=self.zone)
                )
                lo, hi = max(w1, local_start), min(w2, local_end)
                if hi > lo:
                    total += (hi - lo).total_seconds()
            day += dt.timedelta(days=1)
        return total
