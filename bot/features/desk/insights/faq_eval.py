"""Scoring FAQ drafts against what a person would write, and tuning the dedup threshold
(`fmbot insights eval-faq FILE`, the drafts' `kb eval`).

The file holds resolved conversations, one JSON object a line: `id`, `transcript` ([role,
text] pairs), `expected` (the FAQ entries a person would write: [{question, answer}], empty when
none should come), and `duplicate_of_topic` for a conversation that repeats an earlier one's
question (its draft should be dropped as a duplicate). Each transcript goes to the model as the
desk sends it (same prompt and schema, then the scrub); a draft matches an expected entry when
their questions' embeddings are at least `match_at` similar. Then every threshold of `grid` is
tried on the drafts in file order, as the desk would see them: a draft at least that similar to
one kept before is dropped. The best threshold drops every repeat and keeps every new entry.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from bot.features.desk.insights.faq import FAQ_PROMPT, FAQ_SCHEMA, pair_text, pairs_of
from bot.features.desk.insights.jsonanswer import parse_json
from bot.features.desk.insights.protocol import AsyncModel
from bot.features.desk.insights.scrub import scrub
from bot.features.desk.insights.summaries import transcript
from bot.plugin.models import ChatMessage, CompletionOptions, Role

Embed = Callable[[str], Awaitable[np.ndarray]]
GRID = tuple(round(0.5 + 0.02 * i, 2) for i in range(25))  # 0.50 .. 0.98


@dataclass(frozen=True, slots=True)
class Case:
    id: str
    lines: list[tuple[str, str]]
    expected: list[tuple[str, str]]
    repeat: bool


@dataclass(slots=True)
class Threshold:
    value: float
    kept_new: int
    dropped_new: int  # a new entry lost
    kept_repeats: int  # a duplicate let through

    @property
    def errors(self) -> int:
        return self.dropped_new + self.kept_repeats


@dataclass(slots=True)
class FaqEval:
    cases: int
    expected: int
    drafts: int
    matched: int  # drafts matching an expected entry
    found: int  # expected entries some draft matched
    none_cases: int
    none_with_drafts: int
    thresholds: list[Threshold] = field(default_factory=list)

    @property
    def precision(self) -> float:
        return self.matched / self.drafts if self.drafts else 0.0

    @property
    def recall(self) -> float:
        return self.found / self.expected if self.expected else 0.0

    @property
    def best(self) -> Threshold:
        """Fewest errors; among equals the middle of the range (the most margin each way)."""
        fewest = min(t.errors for t in self.thresholds)
        tied = [t for t in self.thresholds if t.errors == fewest]
        return tied[len(tied) // 2]


def load_cases(path: Path) -> list[Case]:
    cases = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            item: dict[str, Any] = json.loads(line)
            lines = [(str(role), str(text)) for role, text in item["transcript"]]
            expected = [(str(e["question"]), str(e["answer"])) for e in item.get("expected", [])]
        except (ValueError, KeyError, TypeError):
            raise ValueError(f"{path}:{number}: needs transcript and expected") from None
        cases.append(Case(str(item.get("id", number)), lines, expected,
                          "duplicate_of_topic" in item))
    return cases


async def evaluate(
    cases: Sequence[Case], model: AsyncModel, model_name: str, embed: Embed,
    *, match_at: float = 0.8, grid: Sequence[float] = GRID,
) -> FaqEval:
    drafts: list[tuple[Case, str, str, np.ndarray]] = []
    matched = found = none_with = 0
    for case in cases:
        messages = [ChatMessage(Role.SYSTEM, FAQ_PROMPT),
                    ChatMessage(Role.USER, transcript(case.lines))]
        completion = await model.complete(messages, model=model_name, options=CompletionOptions(
            temperature=0.1, max_tokens=1200, json_schema=FAQ_SCHEMA,
        ))
        pairs = [(scrub(q), scrub(a)) for q, a in pairs_of(parse_json(completion.text) or {})]
        if not case.expected and not case.repeat and pairs:
            none_with += 1
        wanted = [await embed(q) for q, _ in case.expected]
        hit: set[int] = set()
        for question, answer in pairs:
            vector = await embed(question)
            scores = [float(vector @ w) for w in wanted]
            best = int(np.argmax(scores)) if scores else -1
            if best >= 0 and scores[best] >= match_at:
                matched += 1
                hit.add(best)
            drafts.append((case, question, answer, await embed(pair_text(question, answer))))
        found += len(hit)
    result = FaqEval(
        cases=len(cases), expected=sum(len(c.expected) for c in cases),
        drafts=sum(1 for c, *_ in drafts if not c.repeat), matched=matched, found=found,
        none_cases=sum(1 for c in cases if not c.expected and not c.repeat),
        none_with_drafts=none_with,
    )
    for value in grid:
        kept: list[np.ndarray] = []
        row = Threshold(value, 0, 0, 0)
        for case, _, _, vector in drafts:
            duplicate = bool(kept) and float(np.max(np.stack(kept) @ vector)) >= value
            if not duplicate:
                kept.append(vector)
            if case.repeat:
                row.kept_repeats += not duplicate
            elif duplicate:
                row.dropped_new += 1
            else:
                row.kept_new += 1
        result.thresholds.append(row)
    return result


def format_eval(r: FaqEval, current: float) -> str:
    lines = [
        f"FAQ drafts from {r.cases} conversations ({r.expected} expected entries, "
        f"{r.none_cases} that should give none):",
        f"  drafts {r.drafts}, matching an expected entry {r.matched} "
        f"(precision {r.precision:.2f}); entries found {r.found} of {r.expected} "
        f"(recall {r.recall:.2f})",
        f"  conversations that should give none but gave drafts: {r.none_with_drafts} of "
        f"{r.none_cases}",
        "  dedup threshold   kept new   dropped new   kept repeats",
    ]
    for t in r.thresholds:
        mark = " <- best" if t is r.best else (" <- KB_DRAFTS_SIMILARITY" if
                                               abs(t.value - current) < 1e-9 else "")
        lines.append(f"  {t.value:>15.2f}   {t.kept_new:>8}   {t.dropped_new:>11}   "
                     f"{t.kept_repeats:>12}{mark}")
    best = r.best
    lines.append(f"Best threshold {best.value:.2f} ({best.errors} wrong decisions); "
                 f"KB_DRAFTS_SIMILARITY is {current:.2f}")
    return "\n".join(lines)
