"""The judge: a model scores one transcript against the case, answering JSON that matches a
schema (the Foundation Models API's structured output). The answer is checked strictly: one
verdict per criterion and per `must_not` rule, in order, each with the line that shows it. An
answer that does not parse is a `JudgeError`, never a pass."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from bot.features.evaluation.cases import Case
from bot.features.evaluation.transcript import Transcript
from bot.plugin.models import ChatMessage, CompletionOptions, FoundationModelsClient, Role


class JudgeError(ValueError):
    """The judge's answer does not parse, or does not answer what was asked."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


LineNumber = Annotated[int, Field(ge=0)]


class Check(_Strict):
    """One criterion or rule: whether it holds, the line that shows it (0: none), why."""

    holds: bool
    line: LineNumber
    evidence: str


class JudgeAnswer(_Strict):
    criteria: list[Check]
    must_not: list[Check]
    resolved: bool
    resolved_line: LineNumber
    handed_off: bool
    handed_off_line: LineNumber


def answer_schema() -> dict[str, object]:
    check = {
        "type": "object",
        "properties": {
            "holds": {"type": "boolean"},
            "line": {"type": "integer", "minimum": 0},
            "evidence": {"type": "string"},
        },
        "required": ["holds", "line", "evidence"],
        "additionalProperties": False,
    }
    return {
        "type": "object",
        "properties": {
            "criteria": {"type": "array", "items": check},
            "must_not": {"type": "array", "items": check},
            "resolved": {"type": "boolean"},
            "resolved_line": {"type": "integer", "minimum": 0},
            "handed_off": {"type": "boolean"},
            "handed_off_line": {"type": "integer", "minimum": 0},
        },
        "required": ["criteria", "must_not", "resolved", "resolved_line", "handed_off",
                     "handed_off_line"],
        "additionalProperties": False,
    }


def instructions(case: Case) -> str:
    criteria = "\n".join(f"{i}. {c}" for i, c in enumerate(case.criteria, 1))
    rules = "\n".join(f"{i}. {r}" for i, r in enumerate(case.must_not, 1)) or "(none)"
    return (
        "You are a strict quality reviewer of a support chat bot. Read the numbered transcript "
        "(customer, bot, and tool lines: what the bot's tools returned) and judge only what it "
        "shows.\n\n"
        f"The customer's goal: {case.goal}\n\n"
        f"Criteria the conversation must satisfy:\n{criteria}\n\n"
        f"Things the bot must not do:\n{rules}\n\n"
        "Answer with one JSON object:\n"
        '- "criteria": one entry per criterion, in order: {"holds": true if the conversation '
        'satisfies it, "line": the number of the line that shows it (0 if none), "evidence": '
        "a short quote or reason}\n"
        '- "must_not": one entry per rule, in order: "holds" true if the bot DID the forbidden '
        "thing, with the line that shows it\n"
        '- "resolved": whether the customer\'s goal was met, "resolved_line"\n'
        '- "handed_off": whether the bot handed the customer to a person or told them it '
        'would, "handed_off_line"'
    )


@dataclass(frozen=True, slots=True)
class Judged:
    answer: JudgeAnswer | None
    error: str
    tokens: int


def parse_answer(text: str, case: Case, lines: int) -> JudgeAnswer:
    """The judge's text as a `JudgeAnswer` (JSON, once inside a ```json fence at most), one
    verdict per criterion and rule, every line within the transcript. Raises JudgeError."""
    body = text.strip()
    fenced = re.fullmatch(r"```(?:json)?\s*(.*?)\s*```", body, re.DOTALL)
    if fenced:
        body = fenced.group(1)
    try:
        raw: Any = json.loads(body)
    except ValueError as exc:
        raise JudgeError(f"not JSON ({exc}): {_short(text)}") from None
    try:
        answer = JudgeAnswer.model_validate(raw)
    except ValidationError as exc:
        error = exc.errors()[0]
        where = ".".join(str(p) for p in error["loc"]) or "the answer"
        raise JudgeError(f"{where}: {error['msg']}: {_short(text)}") from None
    if len(answer.criteria) != len(case.criteria):
        raise JudgeError(f"{len(answer.criteria)} criteria verdicts for "
                         f"{len(case.criteria)} criteria")
    if len(answer.must_not) != len(case.must_not):
        raise JudgeError(f"{len(answer.must_not)} must_not verdicts for "
                         f"{len(case.must_not)} rules")
    numbers = [c.line for c in (*answer.criteria, *answer.must_not)]
    numbers += [answer.resolved_line, answer.handed_off_line]
    beyond = [n for n in numbers if n > lines]
    if beyond:
        raise JudgeError(f"line {beyond[0]} is beyond the transcript's {lines} lines")
    return answer


def _short(text: str, limit: int = 120) -> str:
    flat = " ".join(text.split())
    return repr(flat if len(flat) <= limit else flat[: limit - 1] + "…")


class Judge:
    """Asks the judge model for a verdict on one transcript."""

    def __init__(self, client: FoundationModelsClient, model: str) -> None:
        self.client = client
        self.model = model

    async def score(self, case: Case, transcript: Transcript) -> Judged:
        messages = [
            ChatMessage(role=Role.SYSTEM, text=instructions(case)),
            ChatMessage(role=Role.USER, text=transcript.text() or "(no messages)"),
        ]
        completion = await self.client.complete(
            messages, model=self.model,
            options=CompletionOptions(temperature=0.0, max_tokens=2000,
                                      json_schema=answer_schema()),
        )
        tokens = completion.usage.total_tokens
        try:
            return Judged(parse_answer(completion.text, case, len(transcript.lines)), "", tokens)
        except JudgeError as exc:
            return Judged(None, f"the judge's answer does not parse: {exc}", tokens)
