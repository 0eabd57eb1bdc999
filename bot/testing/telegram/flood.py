"""Telegram's flood limits as the fake enforces them.

Official guidance (core.telegram.org/bots/faq#my-bot-is-hitting-limits-how-do-i-avoid-this):
about one message per second per chat with short bursts tolerated, at most 20 messages per
minute to one group, about 30 messages per second in total. The bot-wide and the group limits
are rolling windows, as a client must assume: at most ``global_rate * global_window`` counted
calls in any ``global_window`` seconds (30 in any second), ``group_per_minute`` in any
``group_window`` seconds in one group; a bucket with a burst on top would let more through.
Streaming projects found that edits spend the same budget
(https://core.telegram.org/bots/faq#my-bot-is-hitting-limits-how-do-i-avoid-this),
so every method in ``COUNTED`` does. A 429 also
opens a penalty window for the chat: calls inside it are refused again until ``retry_after``
has passed, as real Telegram does.

Drafts (``sendMessageDraft``) have limits of their own: ``draft_rate`` per chat (5/s after a
burst), none bot-wide by default (they do not count in the 30/s), and a draft 429's penalty
window holds back only that chat's drafts. ``draft_global_rate`` (0 = off) models the floods
Telegram answers with 429 and long ``retry_after`` values in practice (``draft_retry_after``).

Time: ``FloodControl.clock`` gives "now" (wall-clock ``time.time`` by default, for a server a
driver in another process reads; the in-process ``FakeTelegram`` reads the running loop's
clock, so a test on a virtual clock such as ``looptime`` sees its limits in virtual time).
``FloodLimits.scaled(s)`` shrinks Telegram's seconds to ``s`` seconds for fast tests:
``retry_after`` is still counted in Telegram's seconds, and its penalty lasts ``s`` each.
Every refusal is kept in ``FloodControl.refused`` (which limit, chat, method, when), so a
test can assert that a client kept within the limits (``refused == []``).
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import deque
from collections.abc import Callable
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


# A call on a limit's edge, give or take float error, is inside it: on a virtual clock calls
# land on the edge exactly (a penalty of 0.05 s from 0.1 ends at 0.15000000000000002).
EDGE = 1e-6


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
    time_scale: float = 1.0  # seconds one of Telegram's seconds lasts here (retry_after's unit)

    @classmethod
    def scaled(cls, scale: float, **overrides: object) -> FloodLimits:
        """Telegram's limits with every second shrunk to ``scale`` seconds (0.05: a private
        chat's message per 50 ms, a group's 20 per 3 s, the bot's 30 per 50 ms, a chat's
        drafts 5 per 50 ms after a burst of 5); ``overrides`` set any field."""
        limits = cls(private_rate=1 / scale, group_window=60 * scale,
                     global_rate=30 / scale, global_window=scale, draft_rate=5 / scale,
                     time_scale=scale)
        for name, value in overrides.items():
            setattr(limits, name, value)
        return limits


def loop_clock() -> float:
    """The running loop's clock (virtual under ``looptime``); monotonic time outside a loop."""
    try:
        return asyncio.get_running_loop().time()
    except RuntimeError:
        return time.monotonic()


@dataclass(frozen=True, slots=True)
class Refusal:
    """A call the flood limits refused (429)."""

    kind: str
    """Which limit: "chat" (a private chat's rate or a group's minute), "global" (the bot's
    window), "draft" (a chat's drafts), "draft_global", or "penalty" (inside the window an
    earlier 429 opened)."""
    chat_id: int
    method: str
    at: float
    """When, on `FloodControl.clock`."""


@dataclass
class _Bucket:
    rate: float
    capacity: float
    tokens: float
    stamp: float

    def wait_time(self, now: float) -> float:
        self.tokens = min(self.capacity, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        return 0.0 if self.tokens >= 1.0 - EDGE else (1.0 - self.tokens) / self.rate

    def take(self) -> None:
        self.tokens -= 1.0


@dataclass
class FloodControl:
    limits: FloodLimits = field(default_factory=FloodLimits)
    clock: Callable[[], float] = time.time
    refused: list[Refusal] = field(default_factory=list)
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

    def retry_after(self, wait: float) -> int:
        """``wait`` seconds of this clock as Telegram's ``retry_after`` (whole seconds, >= 1)."""
        return max(1, math.ceil(wait / self.limits.time_scale - 1e-9))

    def check(self, method: str, chat_id: int, chat_type: str, now: float) -> int | None:
        """Spend one message of the budget, or return retry_after (seconds) when over it."""
        if method not in COUNTED or not self.limits.enabled:
            return None
        if method in ("sendMessageDraft", "sendRichMessageDraft"):
            if not self.limits.drafts_count:
                return None
            return self._check_draft(chat_id, now, method)
        penalty = self._penalty.get(chat_id, 0.0)
        if now < penalty - EDGE:
            self.refused.append(Refusal("penalty", chat_id, method, now))
            return self.retry_after(penalty - now)
        limits = self.limits
        sent = self._global
        while sent and sent[0] <= now - limits.global_window + EDGE:
            sent.popleft()
        allowed = max(1, round(limits.global_rate * limits.global_window))
        waits = [(0.0, "")]
        if len(sent) >= allowed:
            waits.append((sent[len(sent) - allowed] + limits.global_window - now, "global"))
        window: deque[float] | None = None
        bucket: _Bucket | None = None
        if chat_type == "private":
            bucket = self._private.get(chat_id)
            if bucket is None:
                bucket = _Bucket(
                    limits.private_rate, limits.private_burst, limits.private_burst, now
                )
                self._private[chat_id] = bucket
            waits.append((bucket.wait_time(now), "chat"))
        else:
            window = self._groups.setdefault(chat_id, deque())
            while window and window[0] <= now - limits.group_window + EDGE:
                window.popleft()
            if len(window) >= limits.group_per_minute:
                waits.append((window[0] + limits.group_window - now, "chat"))
        wait, kind = max(waits)
        if wait > 0:
            self.refused.append(Refusal(kind, chat_id, method, now))
            self.penalise(chat_id, now + wait)
            return self.retry_after(wait)
        sent.append(now)
        if bucket is not None:
            bucket.take()
        if window is not None:
            window.append(now)
        return None

    def _check_draft(self, chat_id: int, now: float, method: str) -> int | None:
        penalty = max(self._penalty.get(chat_id, 0.0), self._draft_penalty.get(chat_id, 0.0))
        if now < penalty - EDGE:
            self.refused.append(Refusal("penalty", chat_id, method, now))
            return self.retry_after(penalty - now)
        limits = self.limits
        bucket = self._drafts.get(chat_id)
        if bucket is None:
            bucket = _Bucket(limits.draft_rate, limits.draft_burst, limits.draft_burst, now)
            self._drafts[chat_id] = bucket
        wait = bucket.wait_time(now) if limits.draft_rate > 0 else 0.0
        kind = "draft"
        flood = self._draft_global
        if limits.draft_global_rate > 0:
            if flood is None or flood.rate != limits.draft_global_rate:
                rate = limits.draft_global_rate
                flood = self._draft_global = _Bucket(rate, rate, rate, now)
            if (global_wait := flood.wait_time(now)) > 0:
                retry = limits.draft_retry_after * limits.time_scale
                if (retry or global_wait) >= wait:
                    wait, kind = retry or global_wait, "draft_global"
        if wait > 0:
            self.refused.append(Refusal(kind, chat_id, method, now))
            self.penalise(chat_id, now + wait, draft=True)
            return self.retry_after(wait)
        if flood is not None and limits.draft_global_rate > 0:
            flood.take()
        if limits.draft_rate > 0:
            bucket.take()
        return None
