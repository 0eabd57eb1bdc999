"""Value types of the knowledge base that other layers see (the sources it grounds answers
on are bot/grounding's)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from bot.plugin.grounding import Hit, Source, label

__all__ = ["Hit", "KbMode", "Retrieval", "Source", "label"]


class KbMode(StrEnum):
    OFF = "off"
    ASSIST = "assist"  # grounded when relevant passages are found, plain chat otherwise
    STRICT = "strict"  # only from the knowledge base; "not found" without a model call


@dataclass(frozen=True, slots=True)
class Retrieval:
    query: str  # what was searched (the question, rewritten for a follow-up)
    hits: tuple[Hit, ...]
    covered: bool  # the best hit reached KB_MIN_SCORE

    @property
    def best_score(self) -> float:
        return max((hit.score for hit in self.hits), default=0.0)
