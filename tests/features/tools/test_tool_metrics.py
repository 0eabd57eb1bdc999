"""Metrics count tool calls by tool and outcome and time them per tool; no user ids in labels."""

from __future__ import annotations

import asyncio

from bot.extending.functions import FunctionTools
from bot.features.settings import Settings
from bot.features.tools import ToolContext
from bot.features.tools.build import build_toolbox
from bot.metrics.registry import REGISTRY

CTX = ToolContext(user_id=987654, chat_id=987654, language="en", idempotency_key="k")


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


async def test_calls_errors_and_latency_per_tool() -> None:
    functions = FunctionTools("metrics")

    async def metered_lookup(n: int) -> str:
        """Looks something up."""
        if n < 0:
            raise ValueError("negative")
        await asyncio.sleep(n)
        return "found"

    functions.add(metered_lookup, timeout_s=0.2)

    toolbox = build_toolbox(Settings(_env_file=None).tools, [functions])  # type: ignore[call-arg]
    before_ok = sample("fmbot_tool_calls_total", tool="metered_lookup", outcome="ok")
    before_error = sample("fmbot_tool_calls_total", tool="metered_lookup", outcome="error")
    before_timeout = sample("fmbot_tool_calls_total", tool="metered_lookup", outcome="timeout")
    before_count = sample("fmbot_tool_call_seconds_count", tool="metered_lookup")
    before_unknown = sample("fmbot_tool_calls_total", tool="unknown", outcome="error")
    await toolbox.call("metered_lookup", {"n": 0}, CTX)
    await toolbox.call("metered_lookup", {"n": -1}, CTX)
    await toolbox.call("metered_lookup", {"n": 1}, CTX)  # past timeout_s
    await toolbox.call("made_up_by_the_model", {}, CTX)
    assert sample("fmbot_tool_calls_total", tool="metered_lookup", outcome="ok") == before_ok + 1
    assert sample("fmbot_tool_calls_total", tool="metered_lookup",
                  outcome="error") == before_error + 1
    assert sample("fmbot_tool_calls_total", tool="metered_lookup",
                  outcome="timeout") == before_timeout + 1
    assert sample("fmbot_tool_call_seconds_count", tool="metered_lookup") == before_count + 3
    assert sample("fmbot_tool_calls_total", tool="unknown", outcome="error") == before_unknown + 1
    for family in REGISTRY.collect():
        if family.name.startswith("fmbot_tool"):
            for metric in family.samples:
                assert "987654" not in str(metric.labels.values())
                assert set(metric.labels) <= {"tool", "outcome", "le"}
