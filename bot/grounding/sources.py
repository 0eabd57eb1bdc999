"""The sources an answer is grounded on: a passage found (`Hit`) and the numbered source the
model is given (`Source`), whoever found them (the knowledge base, file search)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any


def label(title: str, heading: str) -> str:
    """"Returns policy > Refund times": the title and the heading path, the title not repeated
    when the document's first heading says it again."""
    parts = [title] if title else []
    for part in heading.split(" > ") if heading else ():
        if not parts or part != parts[-1]:
            parts.append(part)
    return " > ".join(parts)


@dataclass(frozen=True, slots=True)
class Hit:
    """A retrieved passage. `score` is the cosine similarity to the question (the number
    KB_MIN_SCORE is compared with); `fused` the reciprocal-rank fusion score that orders hits."""

    passage_id: int
    path: str
    title: str
    url: str | None
    heading: str
    text: str
    score: float
    fused: float
    lexical_rank: int | None = None
    vector_rank: int | None = None


@dataclass(frozen=True, slots=True)
class Source:
    """A numbered source given to the model for one answer; `cited` once the answer cites it."""

    number: int
    path: str
    title: str
    url: str | None
    heading: str = ""
    score: float = 0.0
    cited: bool = False

    def as_record(self) -> dict[str, Any]:
        return {"n": self.number, "path": self.path, "title": self.title, "url": self.url,
                "heading": self.heading, "score": round(self.score, 4), "cited": self.cited}

    def citing(self, cited: bool) -> Source:
        return replace(self, cited=cited)
