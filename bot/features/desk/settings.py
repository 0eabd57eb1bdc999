"""The support desk's section of the settings (SUPPORT_*, HANDOFF_CLASSIFIER, CSAT, DESK_*,
INSIGHTS_*, KB_DRAFTS_*): the operators' chat, their hours, the learning loop. A leaf: pydantic,
the standard library and the settings' parsing helpers only (bot/features/settings.py composes
it as `settings.desk`). SUPPORT_HOURS's form is read here (`parse_hours`), so that one check
names every problem before the bot starts; the desk's `SupportHours` is built on it."""

from __future__ import annotations

import datetime as dt
import re
from typing import Self
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, field_validator, model_validator

from bot.plugin.config import Section, Switch, blank_is_default, blank_to, raise_all, unresolved

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_RANGE = re.compile(
    r"^\s*(?P<d1>[a-z]{3})(?:\s*-\s*(?P<d2>[a-z]{3}))?\s+"
    r"(?P<h1>\d{1,2}):(?P<m1>\d{2})\s*-\s*(?P<h2>\d{1,2}):(?P<m2>\d{2})\s*$",
    re.IGNORECASE,
)

#: Open minutes per weekday (0 = Monday) as (start, end) minute pairs; empty = always.
Windows = tuple[tuple[tuple[int, int], ...], ...]


class HoursFormatError(ValueError):
    """SUPPORT_HOURS does not parse; the message shows the expected form."""


def parse_hours(spec: str) -> Windows:
    """SUPPORT_HOURS ("Mon-Fri 09:00-18:00; Sat 10:00-14:00") as open minutes per weekday;
    empty: always open. HoursFormatError names what cannot be read."""
    spec = spec.strip()
    if not spec:
        return ()
    days: list[list[tuple[int, int]]] = [[] for _ in DAYS]
    for part in re.split(r"[;,]", spec):
        if not part.strip():
            continue
        match = _RANGE.match(part)
        if match is None or match["d1"].lower() not in DAYS:
            raise HoursFormatError(
                f"SUPPORT_HOURS: cannot read {part.strip()!r}; "
                "expected e.g. 'Mon-Fri 09:00-18:00; Sat 10:00-14:00'"
            )
        first = DAYS.index(match["d1"].lower())
        last_name = (match["d2"] or match["d1"]).lower()
        if last_name not in DAYS:
            raise HoursFormatError(f"SUPPORT_HOURS: unknown day {match['d2']!r}")
        last = DAYS.index(last_name)
        start = int(match["h1"]) * 60 + int(match["m1"])
        end = int(match["h2"]) * 60 + int(match["m2"])
        if not (0 <= start < end <= 24 * 60) or int(match["m1"]) > 59 or int(match["m2"]) > 59:
            raise HoursFormatError(
                f"SUPPORT_HOURS: {part.strip()!r} must end after it starts, within a day"
            )
        day = first
        while True:
            days[day].append((start, end))
            if day == last:
                break
            day = (day + 1) % 7
    return tuple(tuple(sorted(d)) for d in days)


class DeskSettings(Section):
    """The support desk and its learning loop. `chat_id` 0 means no desk; `insights` is
    DESK_INSIGHTS or its default (on with a desk), never on without one."""

    # --- Support desk ---------------------------------------------------------------
    # The operators' supergroup (topics enabled, the bot an admin that may manage topics);
    # 0 = no handoff at all.
    chat_id: int = Field(default=0, validation_alias="SUPPORT_CHAT_ID")
    # When people answer, e.g. "Mon-Fri 09:00-18:00" (several ranges separated by ";");
    # empty = always.
    hours: str = Field(default="", validation_alias="SUPPORT_HOURS")
    timezone: str = Field(default="UTC", validation_alias="SUPPORT_TIMEZONE")
    handoff_classifier: Switch = Field(default=False, validation_alias="HANDOFF_CLASSIFIER")
    csat: Switch = Field(default=True, validation_alias="CSAT")
    # Hours of silence after which a conversation with the bot alone is over: then it is
    # scored (DESK_INSIGHTS) and the report counts it "assumed resolved". A shop whose
    # customers come back within the hour may shorten it; the first day's report reads it.
    idle_hours: float = Field(default=24.0, gt=0, le=24 * 30, validation_alias="DESK_IDLE_HOURS")

    @property
    def idle(self) -> dt.timedelta:
        """DESK_IDLE_HOURS as a duration."""
        return dt.timedelta(hours=self.idle_hours)

    # --- Desk insights ----------------------------------------------------------------
    # Handoff summaries and tags, final summaries (and later FAQ drafts and content gaps),
    # made in Yandex's asynchronous mode; unset = on when SUPPORT_CHAT_ID is set.
    insights: Switch = Field(default_factory=unresolved, validation_alias="DESK_INSIGHTS")
    # YandexGPT Pro through completionAsync (half the synchronous price), JSON-schema output;
    # a model without an asynchronous mode (Qwen, gpt-oss, Gemma) runs the jobs synchronously.
    insights_model: str = Field(default="yandexgpt/latest", validation_alias="INSIGHTS_MODEL")
    # Seconds between two content-gap analyses (default: daily).
    insights_interval: float = Field(default=86400.0, gt=0, validation_alias="INSIGHTS_INTERVAL")
    # FAQ drafts a person approved are appended to this .jsonl file in the first KB_PATH
    # folder (indexed by the next sync); a draft at least this similar (cosine of the
    # embeddings) to a passage or another draft is dropped as a duplicate.
    drafts_file: str = Field(default="faq-from-desk.jsonl", validation_alias="KB_DRAFTS_FILE")
    drafts_similarity: float = Field(default=0.76, gt=0, le=1,  # `insights eval-faq`
                                     validation_alias="KB_DRAFTS_SIMILARITY")

    @field_validator("chat_id", mode="before")
    @classmethod
    def _blank_chat_is_zero(cls, value: object) -> object:
        # `SUPPORT_CHAT_ID=` as `.env.example` has it means "not set".
        return blank_to(value, 0)

    @field_validator("insights", mode="before")
    @classmethod
    def _blank_insights_is_unset(cls, value: object) -> object:
        # `DESK_INSIGHTS=` (as .env.example has it) means "not set": on with a support chat.
        return blank_is_default(value)

    @model_validator(mode="after")
    def _insights_with_a_desk(self) -> Self:
        # No desk, no insights; with one, on unless DESK_INSIGHTS=off.
        self._settle(insights=bool(self.chat_id) and self.insights is not False)
        return self

    @property
    def on(self) -> bool:
        return bool(self.chat_id)

    def check(self) -> None:
        """The desk's settings before anything starts (bot/wiring/preflight.py):
        SUPPORT_TIMEZONE, SUPPORT_CHAT_ID and the form of SUPPORT_HOURS, every problem at
        once."""
        problems: list[str] = []
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            problems.append(
                f"SUPPORT_TIMEZONE: unknown time zone {self.timezone!r} "
                "(an IANA name such as Europe/Moscow)"
            )
        if self.chat_id > 0:
            problems.append(
                "SUPPORT_CHAT_ID must be a supergroup id (negative, starting with -100)"
            )
        try:  # the form of the hours, whatever the time zone (checked just above)
            parse_hours(self.hours)
        except HoursFormatError as exc:
            problems.append(str(exc))
        raise_all(problems)
