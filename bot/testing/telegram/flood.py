"""Telegram's flood limits as the fake enforces them.

Official guidance (core.telegram.org/bots/faq#my-bot-is-hitting-limits-how-do-i-avoid-this):
about one message per second per chat with short bursts tolerated, at most 20 messages per
minute to one group, about 30 messages per second in total. The bot-wide and the group limits
are rolling windows, as a client must assume: at most ``global_rate * global_window`` counted
calls in any ``global_window`` seconds (30 in any second), ``group_per_minute`` in any
``group_window`` seconds in one group; a bucket with a burst on top would let more through.
Streaming projects found that edits spend the same budget (see
../shared/reference/telegram-bot-api.md §1.2), so every method in ``COUNTED`` does. A 429 also
opens a penalty window for the chat: calls inside it are refused again until ``retry_after``
has passed, as real Telegram does.

Drafts (``sendMessageDraft``) have limits of their own: ``draft_rate`` per chat (5/s after a
burst), none bot-wide by default (they do not count in the 30/s), and a draft 429's penalty
window holds back only that chat's drafts. ``draft_global_rate`` (0 = off) models the floods
Telegram answers with 429 and long ``retry_after`` values in practice (``draft_retry_after``).
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field

COUNTED = frozenset(
    {
        "sendMessage",
        "editMessageText",
        "editMessageCaption",
        "editMessageReplyMarkup",
        "sendPhoto",
        "sendDocument",
        "sendMessageDraft",
        "sendRichMessage",  # rich.py
        "sendRichMessageDraft",
        "copyMessage",
        "copyMessages",
        "createForumTopic",
        "forwardMessage",
        "sendMediaGroup",
        "sendAnimation",
        "sendVideo",
        "sendAudio",
        "sendVoice",
        "sendSticker",
    }
)


@dataclass
class FloodLimits:
    enabled: bool = True
    private_rate: float = 1.0  # messages per second in one private chat ...
    private_burst: float = 3.0  # ... after a burst of this many
    group_per_minute: int = 20  # sliding 60 s window per group/supergroup
    group_window: float = 60.0  # the window's length (tests shrink time with it)
    global_rate: float = 30.0  # messages per second for the whole bot ...
    global_window: float = 1.0  # ... counted in any window of this many seconds
    global_burst: float = 30.0  # unused: the bot-wide limit is a rolling window
    drafts_count: bool = True  # False: drafts are not limited at all
    draft_rate: float = 5.0  # drafts per second in one chat ...
    draft_burst: float = 5.0  # ... after a burst of this many
    draft_global_rate: float = 0.0  # drafts per second for the whole bot; 0 = no limit
    draft_retry_after: int = 0  # retry_after of a bot-wide draft flood; 0 = the wait


@dataclass
class _Bucket:
    rate: float
    capacity: float
    tokens: float
    stamp: float

    def wait_time(self, now: float) -> float:
        self.tokens = min(self.capacity, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        return 0.0 if self.tokens >= 1.0 else (1.0 - self.tokens) / self.rate

    def take(self) -> None:
        self.tokens -= 1.0


@dataclass
class FloodControl:
    limits: FloodLimits = field(default_factory=FloodLimits)
    _private: dict[int, _Bucket] = field(default_factory=dict)
    _groups: dict[int, deque[float]] = field(default_factory=dict)
    _global: deque[float] = field(default_factory=deque)
    _penalty: dict[int, float] = field(default_factory=dict)
    _drafts: dict[int, _Bucket] = field(default_factory=dict)
    _draft_global: _Bucket | None = None
    _draft_penalty: dict[int, float] = field(default_factory=dict)

    def penalise(self, chat_id: int, until: float, *, draft: bool = False) -> None:
        """Refuse the chat's calls (only its drafts, for a draft's 429) until ``until``."""
        penalty = self._draft_penalty if draft else self._penalty
        penalty[chat_id] = max(penalty.get(chat_id, 0.0), until)

    def check(self, method: str, chat_id: int, chat_type: str, now: float) -> int | None:
        """Spend one message of the budget, or return retry_after (seconds) when over it."""
        if method not in COUNTED or not self.limits.enabled:
            return None
        if method in ("sendMessageDraft", "sendRichMessageDraft"):
            return self._check_draft(chat_id, now) if self.limits.drafts_count else None
        penalty = self._penalty.get(chat_id, 0.0)
        if now < penalty:
            return max(1, math.ceil(penalty - now))
        limits = self.limits
        sent = self._global
        while sent and sent[0] <= now - limits.global_window:
            sent.popleft()
        allowed = max(1, round(limits.global_rate * limits.global_window))
        waits = [0.0]
        if len(sent) >= allowed:
            waits.append(sent[len(sent) - allowed] + limits.global_window - now)
        window: deque[float] | None = None
        bucket: _Bucket | None = None
        if chat_type == "private":
            bucket = self._private.get(chat_id)
            if bucket is None:
                bucket = _Bucket(
                    limits.private_rate, limits.private_burst, limits.private_burst, now
                )
                self._private[chat_id] = bucket
            waits.append(bucket.wait_time(now))
        else:
            window = self._groups.setdefault(chat_id, deque())
            while window and window[0] <= now - limits.group_window:
                window.popleft()
            if len(window) >= limits.group_per_minute:
                waits.append(window[0] + limits.group_window - now)
        wait = max(waits)
        if wait > 0:
            retry_after = max(1, math.ceil(wait))
            self.penalise(chat_id, now + wait)
            return retry_after
        sent.append(now)
        if bucket is not None:
            bucket.take()
        if window is not None:
            window.append(now)
        return None

    def _check_draft(self, chat_id: int, now: float) -> int | None:
        penalty = max(self._penalty.get(chat_id, 0.0), self._draft_penalty.get(chat_id, 0.0))
        if now < penalty:
            return max(1, math.ceil(penalty - now))
        limits = self.limits
        bucket = self._drafts.get(chat_id)
        if bucket is None:
            bucket = _Bucket(limits.draft_rate, limits.draft_burst, limits.draft_burst, now)
            self._drafts[chat_id] = bucket
        wait = bucket.wait_time(now) if limits.draft_rate > 0 else 0.0
        flood = self._draft_global
        if limits.draft_global_rate > 0:
            if flood is None or flood.rate != limits.draft_global_rate:
                rate = limits.draft_global_rate
                flood = self._draft_global = _Bucket(rate, rate, rate, now)
            if (global_wait := flood.wait_time(now)) > 0:
                wait = max(wait, float(limits.draft_retry_after or global_wait))
        if wait > 0:
            self.penalise(chat_id, now + wait, draft=True)
            return max(1, math.ceil(wait))
        if flood is not None and limits.draft_global_rate > 0:
            flood.take()
        if limits.draft_rate > 0:
            bucket.take()
        return None
