"""The knowledge base's series on /metrics: searches, answers covered or not, passages
embedded. Imported by the modules that count (base.py, turn.py), which only a bot with a
knowledge base loads."""

from __future__ import annotations

from bot.plugin.metrics import counter

KB_SEARCHES = counter("fmbot_kb_searches", "Knowledge base searches, by kind", "kind")
KB_ANSWERS = counter(
    "fmbot_kb_answers", "Knowledge-base turns: covered by the passages or not found", "result"
)
KB_EMBEDDED = counter(
    "fmbot_kb_passages_embedded", "Passages embedded by knowledge base syncs (new or changed)",
)


def kb_search(kind: str) -> None:
    """`kind`: question (a chat turn's search; a follow-up searches twice) or command."""
    KB_SEARCHES.child(kind).inc()


def kb_answer(covered: bool) -> None:
    KB_ANSWERS.child("covered" if covered else "not_found").inc()


def kb_embedded(passages: int) -> None:
    if passages:
        KB_EMBEDDED.child().inc(passages)
