"""Python function tools: the schema from the signature, the ToolContext kept from the model,
lax validation before the function runs, errors as lines for the model."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, Literal

import pytest
from pydantic import BaseModel

from bot.extending.functions import FunctionTools, ToolFunctionError
from bot.features.tools import Toolbox, ToolContext, ToolOutcome

CTX = ToolContext(user_id=7, chat_id=7, language="en", idempotency_key="k-1", desk_state="bot",
                  is_admin=True)


class Address(BaseModel):
    city: str
    street: str = ""


def make_tools() -> tuple[FunctionTools, list[tuple[object, ...]]]:
    tools = FunctionTools("shop")
    calls: list[tuple[object, ...]] = []

    async def refund(ctx: ToolContext, order_id: str, amount: int,
                     reason: Literal["late", "broken"] = "late") -> dict[str, object]:
        """Refund part of an order to the customer."""
        calls.append((ctx.user_id, ctx.idempotency_key, order_id, amount, reason))
        return {"refunded": amount, "order": order_id}

    async def ship_to(address: Address, express: bool = False) -> str:
        """Change the delivery address."""
        calls.append((address.city, express))
        return f"shipping to {address.city}"

    async def crash() -> str:
        """Always fails."""
        raise RuntimeError("the warehouse is on fire")

    tools.add(refund, confirm=True)
    tools.add(ship_to, name="ship-to", admins_only=True)
    tools.add(crash)

    return tools, calls


def test_the_schema_comes_from_the_signature_without_the_context() -> None:
    tools, _ = make_tools()
    refund, ship, _crash = tools.definitions()
    assert refund.name == "refund"
    assert refund.description == "Refund part of an order to the customer."
    assert refund.parameters == {
        "type": "object",
        "properties": {
            "order_id": {"type": "string"},
            "amount": {"type": "integer"},
            "reason": {"enum": ["late", "broken"], "type": "string", "default": "late"},
        },
        "required": ["order_id", "amount"],
        "additionalProperties": False,
    }
    assert (refund.confirm, refund.writes, refund.admins_only) == (True, True, False)
    assert refund.source == "python:shop"
    assert ship.name == "ship-to"
    assert ship.admins_only
    assert not ship.writes
    assert "ctx" not in str(refund.parameters)
    assert ship.parameters["$defs"]["Address"]["required"] == ["city"]


async def test_arguments_are_validated_laxly_and_the_context_is_given() -> None:
    tools, calls = make_tools()
    result = await tools.call("refund", {"order_id": "A-1", "amount": 5.0}, CTX)
    assert result.outcome is ToolOutcome.OK
    assert result.text == '{"refunded": 5, "order": "A-1"}'
    assert calls == [(7, "k-1", "A-1", 5, "late")]
    shipped = await tools.call("ship-to", {"address": {"city": "Kazan"}}, CTX)
    assert shipped.text == "shipping to Kazan"


@pytest.mark.parametrize(
    ("arguments", "expected"),
    [
        ({"order_id": "A-1", "amount": 5.5},
         "error: invalid arguments: amount: Input should be a valid integer, got a number with "
         "a fractional part"),
        ({"order_id": "A-1"}, "error: invalid arguments: amount: Field required"),
        ({"order_id": "A-1", "amount": 1, "reason": "bored"},
         "error: invalid arguments: reason: Input should be 'late' or 'broken'"),
        ({"order_id": "A-1", "amount": 1, "user_id": 99},
         "error: invalid arguments: user_id: Extra inputs are not permitted"),
    ],
)
async def test_invalid_arguments_go_back_to_the_model_and_nothing_runs(
    arguments: dict[str, object], expected: str
) -> None:
    tools, calls = make_tools()
    result = await tools.call("refund", arguments, CTX)
    assert result.outcome is ToolOutcome.ERROR
    assert result.text == expected
    assert calls == []


async def test_an_exception_is_a_short_line_not_a_trace() -> None:
    tools, _ = make_tools()
    result = await tools.call("crash", {}, CTX)
    assert result.text == "error: RuntimeError: the warehouse is on fire"
    assert "Traceback" not in result.text


async def test_through_the_toolbox_admins_only_is_hidden_from_others() -> None:
    tools, _ = make_tools()
    box = Toolbox([tools])
    assert [d.name for d in box.offered(is_admin=False)] == ["refund", "crash"]
    other = ToolContext(user_id=8, chat_id=8, language="en", idempotency_key="k")
    refused = await box.call("ship-to", {"address": {"city": "X"}}, other)
    assert refused.text == "error: no tool named 'ship-to'"


def test_functions_that_cannot_be_tools_are_refused_with_the_reason() -> None:
    tools = FunctionTools()

    def sync(x: int) -> int:
        """Sync."""
        return x

    async def untyped(x):  # type: ignore[no-untyped-def]
        """Untyped."""

    async def undocumented(x: int) -> int:
        return x

    async def late_context(x: int, ctx: ToolContext) -> int:
        """Context second."""
        return x

    with pytest.raises(ToolFunctionError, match="must be an async function"):
        tools.add(sync)  # type: ignore[arg-type]
    with pytest.raises(ToolFunctionError, match="parameter 'x' needs a type hint"):
        tools.add(untyped)
    with pytest.raises(ToolFunctionError, match="give it a docstring"):
        tools.add(undocumented)
    with pytest.raises(ToolFunctionError, match="the ToolContext parameter must come first"):
        tools.add(late_context)
    with pytest.raises(ToolFunctionError, match="is not valid"):
        tools.add(late_context, name="no spaces")


class Opaque:
    """A class pydantic has no schema for."""


@pytest.mark.parametrize("hint", [Opaque, Callable[[], int], asyncio.Lock])
def test_a_parameter_type_with_no_schema_is_one_line_naming_tool_and_parameter(
    hint: Any,
) -> None:
    async def lookup(order: str, helper: Any) -> str:
        """Look up."""
        return order

    lookup.__annotations__["helper"] = hint
    with pytest.raises(ToolFunctionError) as refused:
        FunctionTools().add(lookup)
    message = str(refused.value)
    assert "\n" not in message
    assert message.startswith("tool 'lookup': parameter 'helper' has a type with no JSON Schema")
    assert "pydantic" not in message.split(";")[0]
