"""The core knows no feature, on /metrics too: bot/metrics/ defines the core's series only
(updates, turns, latency, Telegram calls, Foundation Models requests, tokens, queues, the
poller's lease). A feature declares its own in its folder (bot/features/<name>/metrics.py)
with `bot.plugin.metrics.counter`, `gauge`, `histogram`; a series named here for a feature
fails this check."""

from __future__ import annotations

import re
from pathlib import Path

from tests.architecture.sources import GROUP

pytestmark = GROUP

METRICS = Path(__file__).resolve().parents[2] / "bot" / "metrics"

# Words (or a word's start: handoffs, images) in a series' name or a metric's Python name
# that say which feature it is of.
FEATURE_WORDS = ("kb", "knowledge", "desk", "handoff", "relay", "rating", "feedback", "voice",
                 "speech", "tts", "image", "tool", "insight", "web_search", "websearch",
                 "document", "business", "guest", "vision", "evaluation", "helpdesk")
NAME = re.compile(r"""["'](fmbot_\w+)["']|^([A-Z][A-Z0-9_]*)\s*=|^def (\w+)""", re.MULTILINE)


def feature_names(text: str) -> list[str]:
    """The series names (`"fmbot_..."`), module-level constants and functions naming a
    feature."""
    found = []
    for match in NAME.finditer(text):
        found_name = match.group(1) or match.group(2) or match.group(3)
        name = found_name.lower()
        words = name.split("_")
        if any(w in name if "_" in w else any(word.startswith(w) for word in words)
               for w in FEATURE_WORDS):
            found.append(found_name)
    return found


def test_bot_metrics_defines_no_series_of_a_feature() -> None:
    found = {str(path.relative_to(METRICS.parent.parent)): names
             for path in sorted(METRICS.rglob("*.py"))
             if (names := feature_names(path.read_text(encoding="utf-8")))}
    assert not found, (
        "a feature's series belong in its folder (bot/features/<name>/metrics.py, declared "
        f"with bot.plugin.metrics.counter/gauge/histogram): {found}")


def test_the_check_finds_a_feature_series_injected() -> None:
    """A check that cannot fail is a defect: the series moved out are each found."""
    injected = (
        'IMAGE_JOBS = counter("fmbot_image_jobs", "Image jobs reaching a state", "state")\n'
        'X = counter("fmbot_kb_searches", "Knowledge base searches", "kind")\n'
        'TTS_CHARS = Counter("fmbot_tts_chars", "Characters", registry=REGISTRY)\n'
        'Y = _counter("fmbot_web_searches", "Web searches")\n'
        'Z = histogram("fmbot_tool_call_seconds", "Seconds", "tool")\n'
        'HANDOFFS = counter("fmbot_handoffs", "Handed over", "reason")\n'
        "def voice_reply(state: str) -> None:\n"
    )
    assert feature_names(injected) == [
        "IMAGE_JOBS", "fmbot_image_jobs", "fmbot_kb_searches", "TTS_CHARS", "fmbot_tts_chars",
        "fmbot_web_searches", "fmbot_tool_call_seconds", "HANDOFFS", "fmbot_handoffs",
        "voice_reply"]
    core = (
        'UPDATES = counter("fmbot_updates", "Updates received", "kind")\n'
        'TOKENS = counter("fmbot_tokens", "Tokens used", "model", "kind")\n'
        'CHAT_SIGNALS = counter("fmbot_chat_signals", "Wakes", "kind", "outcome")\n'
        'LEADER = gauge("fmbot_poller_leader", "1 while this replica holds the lease")\n'
        "def turn_latency(first_visible: float | None, final: float | None) -> None:\n"
    )
    assert feature_names(core) == []
