"""The desk's series on /metrics: handoffs, relays, endings, ratings, answer feedback, and the
insights' deferred model jobs and their tokens."""

from __future__ import annotations

from bot.plugin.metrics import counter

HANDOFFS = counter("fmbot_handoffs", "Conversations handed to a person, by reason", "reason")
DESK_ENDS = counter(
    "fmbot_desk_conversations_ended", "Conversations a person owned, ended by resolution",
    "resolution",
)
RELAYS = counter("fmbot_relays", "Messages relayed between users and operators", "direction")
RATINGS = counter("fmbot_ratings", "Ratings of conversations a person handled, by score",
                  "score")
FEEDBACK = counter("fmbot_answer_feedback", "👍/👎 pressed under answers", "value")
INSIGHT_JOBS = counter(
    "fmbot_insight_jobs", "Deferred model jobs (summaries, tags, FAQ drafts, gap labels) "
    "reaching a step, by kind and outcome (stored, submitted, done, applied, retried, failed)",
    "kind", "outcome",
)
INSIGHT_TOKENS = counter("fmbot_insight_tokens", "Tokens used by deferred model jobs",
                         "kind", "direction")


def handoff(reason: str) -> None:
    HANDOFFS.child(reason).inc()


def desk_ended(resolution: str) -> None:
    """`resolution`: closed (/close), returned (/bot) or failed (no person could see it)."""
    DESK_ENDS.child(resolution).inc()


def relay(direction: str) -> None:
    """`direction`: to_topic (a user's message) or to_user (an operator's)."""
    RELAYS.child(direction).inc()


def rating(score: int) -> None:
    RATINGS.child(str(score)).inc()


def feedback(helpful: bool) -> None:
    FEEDBACK.child("up" if helpful else "down").inc()


def insight_job(kind: str, outcome: str) -> None:
    INSIGHT_JOBS.child(kind, outcome).inc()


def insight_tokens(kind: str, input_tokens: int, output_tokens: int) -> None:
    INSIGHT_TOKENS.child(kind, "input").inc(input_tokens)
    INSIGHT_TOKENS.child(kind, "output").inc(output_tokens)
