"""Test a bot built on fmbot without Telegram: `BotTester` runs an `App` against an in-process
Telegram and a test model (`EchoModel`, `ScriptedModel`, `RecordedModel`); see
docs/testing.md.

```python
from bot.testing import BotTester, ScriptedModel
from mybot import app

async def test_order_status() -> None:
    model = ScriptedModel()
    model.when("A-1").call("order_status", order_id="A-1").answer("Shipped: {result}")
    async with BotTester(app, model=model) as tester:
        reply = await tester.user("Anna").says("Where is my order A-1?")
        assert reply.tool_calls[0].name == "order_status"
```
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.lazyexports import lazy_exports

# The names below are imported on first use (PEP 562): this package holds the pytest plugin
# (bot/testing/pytest_plugin.py), which pytest loads in every run where fmbot is installed,
# and BotTester's modules import aiogram (about 4 CPU-seconds of pydantic schemas) that a run
# not using the fixture should not pay for.
_WHERE = {
    "BotTester": "bot.testing.tester",
    "Case": "bot.features.evaluation.cases",
    "CaseFile": "bot.features.evaluation.cases",
    "BotTesterError": "bot.testing.errors",
    "EchoModel": "bot.testing.models",
    "ModelAnswer": "bot.testing.wire",
    "ModelRequest": "bot.testing.wire",
    "RecordedModel": "bot.testing.recorded",
    "RecordingFormatError": "bot.testing.recorded",
    "Reply": "bot.testing.reply",
    "Rule": "bot.testing.models",
    "Run": "bot.features.evaluation.runner",
    "ScriptedModel": "bot.testing.models",
    "SentCall": "bot.testing.telegram.views",
    "ServiceModel": "bot.testing.models",
    "Shown": "bot.testing.telegram.views",
    "SourceInfo": "bot.extending.events",
    "TestBusiness": "bot.testing.business",
    "TestCustomer": "bot.testing.business",
    "TestGroup": "bot.testing.people",
    "TestModel": "bot.testing.wire",
    "TestUser": "bot.testing.people",
    "ToolCallInfo": "bot.extending.events",
    "read_cases": "bot.features.evaluation.cases",
}


__getattr__, __dir__ = lazy_exports(__name__, _WHERE)


if TYPE_CHECKING:
    from bot.extending.events import SourceInfo, ToolCallInfo
    from bot.features.evaluation.cases import Case, CaseFile, read_cases
    from bot.features.evaluation.runner import Run
    from bot.testing.business import TestBusiness, TestCustomer
    from bot.testing.errors import BotTesterError
    from bot.testing.models import EchoModel, Rule, ScriptedModel, ServiceModel
    from bot.testing.people import TestGroup, TestUser
    from bot.testing.recorded import RecordedModel, RecordingFormatError
    from bot.testing.reply import Reply
    from bot.testing.telegram import SentCall, Shown
    from bot.testing.tester import BotTester
    from bot.testing.wire import ModelAnswer, ModelRequest, TestModel

__all__ = [
    "BotTester",
    "BotTesterError",
    "Case",
    "CaseFile",
    "EchoModel",
    "ModelAnswer",
    "ModelRequest",
    "RecordedModel",
    "RecordingFormatError",
    "Reply",
    "Rule",
    "Run",
    "ScriptedModel",
    "SentCall",
    "ServiceModel",
    "Shown",
    "SourceInfo",
    "TestBusiness",
    "TestCustomer",
    "TestGroup",
    "TestModel",
    "TestUser",
    "ToolCallInfo",
    "read_cases",
]
