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

from bot.extending.events import SourceInfo, ToolCallInfo
from bot.testing.business import TestBusiness, TestCustomer
from bot.testing.errors import BotTesterError
from bot.testing.models import EchoModel, Rule, ScriptedModel
from bot.testing.people import TestGroup, TestUser
from bot.testing.recorded import RecordedModel, RecordingFormatError
from bot.testing.reply import Reply
from bot.testing.telegram import SentCall, Shown
from bot.testing.tester import BotTester
from bot.testing.wire import ModelAnswer, ModelRequest, TestModel

__all__ = [
    "BotTester",
    "BotTesterError",
    "EchoModel",
    "ModelAnswer",
    "ModelRequest",
    "RecordedModel",
    "RecordingFormatError",
    "Reply",
    "Rule",
    "ScriptedModel",
    "SentCall",
    "Shown",
    "SourceInfo",
    "TestBusiness",
    "TestCustomer",
    "TestGroup",
    "TestModel",
    "TestUser",
    "ToolCallInfo",
]
