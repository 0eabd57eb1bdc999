"""`BotTester.simulate`: one case of `fmbot eval` (docs/evaluation.md) in a bot's own test
suite. The customer and the judge are test models (scripted or recorded: offline), the bot is
the tester's, its tools answered by the case's stubs for the simulated customer alone.

```python
from bot.testing import BotTester, RecordedModel, read_cases

CASES = read_cases("eval/support.toml")

async def test_order_status() -> None:
    async with BotTester(app, model=RecordedModel("recordings/bot.jsonl")) as tester:
        run = await tester.simulate(CASES.named("order status"),
                                    customer=RecordedModel("recordings/customer.jsonl"),
                                    judge=RecordedModel("recordings/judge.jsonl"))
    assert run.passed, run.failures()
```
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from bot.features.evaluation.runner import BotTurn
from bot.testing.errors import BotTesterError

if TYPE_CHECKING:
    from bot.features.evaluation.cases import Case
    from bot.features.evaluation.runner import Run
    from bot.features.evaluation.stubs import Stubs
    from bot.features.settings import Settings
    from bot.testing.people import TestUser
    from bot.testing.wire import TestModel
    from bot.wiring import BuiltBot


class BotTester(Protocol):
    """What a simulation needs of its `BotTester` (named as a protocol: the tester imports
    this module for `simulate`)."""

    @property
    def built(self) -> BuiltBot: ...

    settings: Settings | None
    stubs: Stubs

    def user(self, name: str = "Anna", *, language: str = "en",
             id: int | None = None) -> TestUser: ...

_HANDED_OFF = frozenset({"waiting", "with_operator"})


class TesterBot:
    """The runner's `BotUnderTest` over a tester: each simulated customer is a test user."""

    def __init__(self, tester: BotTester) -> None:
        self.tester = tester

    async def says(self, user_id: int, name: str, text: str) -> BotTurn:
        reply = await self.tester.user(name, id=user_id).says(text)
        return await self._turn(user_id, reply.text, reply.buttons)

    async def presses(self, user_id: int, name: str, button: str) -> BotTurn:
        try:
            reply = await self.tester.user(name, id=user_id).presses(button)
        except BotTesterError as exc:
            return BotTurn(f"(nothing happens: {exc})",
                           await handed_off(self.tester, user_id))
        return await self._turn(user_id, reply.text, reply.buttons)

    async def _turn(self, user_id: int, text: str, buttons: list[str]) -> BotTurn:
        shown = [b for b in buttons if b]
        if shown:
            text = (text + "\n[buttons: " + " | ".join(shown) + "]").strip()
        return BotTurn(text, await handed_off(self.tester, user_id))


async def handed_off(tester: BotTester, user_id: int) -> bool:
    """Whether a person holds the user's conversation (the support desk's case)."""
    from bot.plugin.offers import PersonState

    person = tester.built.core.built.find(PersonState)
    if person is None:
        return False
    return await person.read(user_id) in _HANDED_OFF


async def simulate(
    tester: BotTester, case: Case, *, customer: TestModel, judge: TestModel, user_id: int
) -> Run:
    """One conversation of `case` with the tester's bot, then the judge's verdict."""
    from bot.features.evaluation.cases import CaseFile
    from bot.features.evaluation.customer import Customer
    from bot.features.evaluation.judge import Judge
    from bot.features.evaluation.runner import Run, Runner
    from bot.foundation_models.base import client_over
    from bot.plugin.clients import build_auth_from, build_client
    from bot.plugin.offers import SimulationModels

    settings = tester.settings
    if settings is None:
        raise BotTesterError("the tester is not running: use `async with BotTester(app)`")
    models = tester.built.core.built.need(SimulationModels, by="the test kit's simulate")
    run = Run(case, 1)
    async with client_over(customer.transport()) as customer_http, \
            client_over(judge.transport()) as judge_http:
        customer_client = build_client(settings, build_auth_from(settings), customer_http)
        judge_client = build_client(settings, build_auth_from(settings), judge_http)
        try:
            runner = Runner(TesterBot(tester), tester.stubs,
                            Customer(customer_client, models.customer),
                            Judge(judge_client, models.judge), first_user=user_id)
            await runner.converse(run, CaseFile(case=(case,)))
        finally:
            await customer_client.aclose()
            await judge_client.aclose()
    return run
