"""The evaluation's runs: each case's customer against the bot, turn by turn, then the
judge; every case `repeat` times, at most `concurrency` conversations at once.

The bot is whatever answers `BotUnderTest` (the command line runs the deployment's own bot
in process, evalbot.py); its tools are answered by the case's stubs (stubs.py).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Literal, Protocol

from bot.features.evaluation.cases import Case, CaseFile
from bot.features.evaluation.customer import Customer
from bot.features.evaluation.judge import Judge, JudgeAnswer
from bot.features.evaluation.stubs import Stubs, ToolUse
from bot.features.evaluation.transcript import Transcript
from bot.plugin.models import FoundationModelsError

log = logging.getLogger(__name__)

Ending = Literal["goal_met", "gave_up", "handoff", "max_turns", "silent", "error"]
FIRST_USER = 7_000_001


@dataclass(frozen=True, slots=True)
class BotTurn:
    """What the customer saw after one message: the bot's text (buttons shown in brackets),
    and whether the conversation is now with a person."""

    text: str
    handed_off: bool = False


class BotUnderTest(Protocol):
    async def says(self, user_id: int, name: str, text: str) -> BotTurn: ...

    async def presses(self, user_id: int, name: str, button: str) -> BotTurn:
        """Press the inline button whose text is (or contains) `button` on the newest
        message showing one; a button not shown is answered as such, in the turn's text."""
        ...


@dataclass(frozen=True, slots=True)
class CheckResult:
    text: str
    ok: bool  # the criterion holds / the forbidden thing was not done
    line: int
    evidence: str


@dataclass(slots=True)
class Run:
    """One conversation of one case, and its verdict."""

    case: Case
    number: int  # 1..repeat
    transcript: Transcript = field(default_factory=Transcript)
    ending: Ending = "max_turns"
    turns: int = 0
    handed_off: bool = False
    tools: list[ToolUse] = field(default_factory=list)
    criteria: list[CheckResult] = field(default_factory=list)
    must_not: list[CheckResult] = field(default_factory=list)
    resolved: bool | None = None
    judge_error: str = ""
    error: str = ""
    customer_tokens: int = 0
    judge_tokens: int = 0
    not_run: list[str] = field(default_factory=list)  # the App's hooks and providers
    diagnosis: list[str] = field(default_factory=list)  # why it may have failed

    @property
    def unstubbed(self) -> list[str]:
        return list(dict.fromkeys(use.name for use in self.tools if not use.stubbed))

    @property
    def handoff_right(self) -> bool:
        return self.handed_off == self.case.handoff

    @property
    def passed(self) -> bool:
        """Every criterion met, no forbidden thing done, the handoff as the case wants it,
        no tool called without a stub, and the judge's answer read."""
        return (not self.error and not self.judge_error and not self.unstubbed
                and self.handoff_right and all(c.ok for c in self.criteria)
                and all(r.ok for r in self.must_not))

    def failures(self) -> list[str]:
        """Why it failed, one short reason each."""
        reasons = []
        if self.error:
            reasons.append(self.error)
        if self.judge_error:
            reasons.append(self.judge_error)
        reasons += [f"tool without a stub: {name}" for name in self.unstubbed]
        if not self.handoff_right:
            reasons.append("handed off, but should not have been" if self.handed_off
                           else "not handed off, but should have been")
        reasons += [f"criterion not met: {c.text}" for c in self.criteria if not c.ok]
        reasons += [f"must not: {r.text}" for r in self.must_not if not r.ok]
        return reasons


@dataclass(frozen=True, slots=True)
class Models:
    bot: str
    customer: str
    judge: str


@dataclass(slots=True)
class Suite:
    """Every run of a case file."""

    runs: list[Run]
    repeat: int
    models: Models
    cases: list[Case]
    bot_tokens: int = 0
    isolation: list[str] = field(default_factory=list)  # what ran, stubbed or not at all
    capped: str = ""  # why runs were not started (the token cap), else empty

    @property
    def tokens(self) -> int:
        return self.bot_tokens + sum(r.customer_tokens + r.judge_tokens for r in self.runs)

    @property
    def unjudged(self) -> list[Run]:
        """The runs that ended in an error or whose verdict could not be read."""
        return [run for run in self.runs if run.error or run.judge_error]

    def of(self, case: Case) -> list[Run]:
        return [run for run in self.runs if run.case is case]

    @property
    def pass_rate(self) -> float:
        return sum(run.passed for run in self.runs) / len(self.runs) if self.runs else 0.0


Progress = Callable[[Run, int, int], None]
# Why a failed run may have failed, a line each (the passages the knowledge base found for the
# customer's messages, the tools the bot could offer and called): evalbot.py's `explain`.
Explain = Callable[[Run], Awaitable[list[str]]]


class Runner:
    """Runs the cases of a file against `bot`."""

    def __init__(
        self,
        bot: BotUnderTest,
        stubs: Stubs,
        customer: Customer,
        judge: Judge,
        *,
        concurrency: int = 4,
        progress: Progress | None = None,
        first_user: int = FIRST_USER,
        max_tokens: int | None = None,
        bot_tokens: Callable[[], int] | None = None,
        explain: Explain | None = None,
    ) -> None:
        self.bot = bot
        self.stubs = stubs
        self.customer = customer
        self.judge = judge
        self.concurrency = max(1, concurrency)
        self.progress = progress
        self._next_user = first_user
        self.max_tokens = max_tokens
        self.bot_tokens = bot_tokens or (lambda: 0)
        self.explain = explain
        self._runs: list[Run] = []
        self.capped = ""

    def spent(self) -> int:
        """The tokens spent so far: the bot's, the customers' and the judge's."""
        return self.bot_tokens() + sum(r.customer_tokens + r.judge_tokens for r in self._runs)

    def _over_cap(self) -> bool:
        if self.max_tokens is None or self.spent() < self.max_tokens:
            return False
        self.capped = (f"the run's token cap ({self.max_tokens:,}, --max-tokens) was reached "
                       f"at {self.spent():,} tokens")
        return True

    async def run(self, cases: CaseFile, *, repeat: int = 1, bot_model: str = "") -> Suite:
        runs = [Run(case, number) for case in cases.case for number in range(1, repeat + 1)]
        self._runs = runs
        gate = asyncio.Semaphore(self.concurrency)
        done = 0

        async def one(run: Run) -> None:
            nonlocal done
            async with gate:
                await self.converse(run, cases)
            done += 1
            if self.progress is not None:
                self.progress(run, done, len(runs))

        async with asyncio.TaskGroup() as group:
            for run in runs:
                group.create_task(one(run))
        suite = Suite(runs, repeat, Models(bot_model, self.customer.model, self.judge.model),
                      list(cases.case))
        suite.capped = self.capped
        return suite

    async def converse(self, run: Run, cases: CaseFile) -> None:
        """One conversation, then its verdict; a model error ends the run as an error."""
        user_id, self._next_user = self._next_user, self._next_user + 1
        case = run.case
        if self._over_cap():
            run.ending, run.error = "error", f"not run: {self.capped}"
            return
        self.stubs.bind(user_id, case.stubs(cases.tools), case.context_stubs(cases.context),
                        case.groups)
        name = f"{case.name} #{run.number}"
        try:
            await self._talk(run, user_id, name)
        except FoundationModelsError as exc:
            run.ending, run.error = "error", f"the customer model failed: {exc}"
            return
        finally:
            run.not_run = self.stubs.not_run(user_id)
        if run.error:
            return
        try:
            judged = await self.judge.score(case, run.transcript)
        except FoundationModelsError as exc:
            run.judge_error = f"the judge model failed: {exc}"
            return
        run.judge_tokens += judged.tokens
        if judged.answer is None:
            run.judge_error = judged.error
            return
        self._verdict(run, judged.answer)
        if not run.passed and self.explain is not None:
            run.diagnosis = await self.explain(run)

    async def _talk(self, run: Run, user_id: int, name: str) -> None:
        transcript = run.transcript
        for _ in range(run.case.max_turns):
            if self._over_cap():
                run.ending, run.error = "error", f"stopped: {self.capped}"
                return
            said = await self.customer.next(run.case, transcript)
            run.customer_tokens += said.tokens
            if said.text:
                transcript.add("customer", said.text)
            if said.done is not None:
                run.ending = said.done
                return
            if not said.text and said.press is None:
                run.ending = "silent"
                return
            run.turns += 1
            if said.text and await self._answered(run, user_id, name, said.text, press=False):
                return
            if said.press is not None and await self._answered(run, user_id, name,
                                                               said.press, press=True):
                return
        run.ending = "max_turns"

    async def _answered(self, run: Run, user_id: int, name: str, what: str, *,
                        press: bool) -> bool:
        """The bot's answer to a message or a press, in the transcript; whether that ended
        the conversation (handed off)."""
        if press:
            run.transcript.add("customer", f"[press: {what}]")
            reply = await self.bot.presses(user_id, name, what)
        else:
            reply = await self.bot.says(user_id, name, what)
        for use in self.stubs.take(user_id):
            run.tools.append(use)
            run.transcript.add("tool", f"{use.name}({use.arguments}) -> {use.result}")
        run.transcript.add("bot", reply.text or "(no answer)")
        if reply.handed_off:
            run.handed_off = True
            run.ending = "handoff"
        return reply.handed_off

    def _verdict(self, run: Run, answer: JudgeAnswer) -> None:
        case = run.case
        run.criteria = [CheckResult(text, check.holds, check.line, check.evidence)
                        for text, check in zip(case.criteria, answer.criteria, strict=True)]
        run.must_not = [CheckResult(text, not check.holds, check.line, check.evidence)
                        for text, check in zip(case.must_not, answer.must_not, strict=True)]
        run.resolved = answer.resolved
        # A handoff the desk made, or one the bot announced (a deployment without a desk).
        run.handed_off = run.handed_off or answer.handed_off
