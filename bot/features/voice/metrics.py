"""Voice's series on /metrics: spoken answers and the characters synthesised, long voice notes
recognised asynchronously."""

from __future__ import annotations

from bot.plugin.metrics import counter

VOICE_REPLIES = counter("fmbot_voice_replies", "Spoken answers reaching a state (sent, failed, "
                        "over_budget, resumed, resent)", "state")
TTS_CHARS = counter("fmbot_tts_chars", "Characters synthesised by SpeechKit")
SPEECH_JOBS = counter("fmbot_speech_jobs", "Long voice notes recognised asynchronously, by "
                      "step (stored, submitted, done, failed, resumed)", "state")


def voice_reply(state: str, chars: int = 0) -> None:
    VOICE_REPLIES.child(state).inc()
    if chars:
        TTS_CHARS.child().inc(chars)


def speech_job(state: str) -> None:
    SPEECH_JOBS.child(state).inc()
