"""Tools from a TOOLS_FILE, in process: HTTP actions on a company API on loopback (it checks the
identity headers and the signature) and an MCP tracker built with the official SDK. A read runs
on each of the three wires (native, TEXT_API=openai and TEXT_API=responses), where tool calls
and results take different shapes; errors and timeouts, the round limit, a cancel and MCP (also
down at start, then back) on one wire each. Was tests/e2e/test_tools.py, with the bot as a
process (the write confirmed once after a SIGKILL between card and press stays there)."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from bot import App
from bot.testing import BotTester, ServiceModel
from tests.e2e.tools_world import (
    MCP_KEY,
    SECRET,
    SHOP_TOKEN,
    CompanyApi,
    offered_tools,
    start_tracker,
    stop_tracker,
    tools_file,
)
from tests.features.sending import rows, strings, until
from tests.ports import free_port

pytest.importorskip("mcp", reason="the MCP extra is not installed (pip install 'fmbot[mcp]')")
pytestmark = [pytest.mark.timeout(120)]

USER = 4242
PATHS = {"native": "/foundationModels/v1/completion", "openai": "/v1/chat/completions",
         "responses": "/v1/responses"}


@dataclass
class World:
    tester: BotTester
    model: ServiceModel
    api: CompanyApi
    wire: str

    def completions(self) -> list[dict[str, Any]]:
        return [r.json for r in self.model.service.requests if r.path == PATHS[self.wire]]

    def calls(self, *calls: tuple[str, dict[str, Any]]) -> None:
        """The model's next answer: these tool calls."""
        self.model.service.queue_reply("", tool_calls=[
            {"name": name, "arguments": arguments} for name, arguments in calls])




@pytest.fixture(scope="module")
def tracker_port() -> Iterator[int]:
    port = free_port()
    process = start_tracker(port)
    yield port
    stop_tracker(process)


@pytest.fixture
def secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHOP_TOKEN", SHOP_TOKEN)
    monkeypatch.setenv("MCP_KEY", MCP_KEY)


async def running(tmp_path: Path, wire: str, mcp_port: int,
                  api: CompanyApi) -> tuple[BotTester, ServiceModel]:
    settings = {"TOOLS_FILE": tools_file(tmp_path, api.url, mcp_port),
                "TOOLS_SIGNING_SECRET": SECRET, "TOOLS_MAX_ROUNDS": "3"}
    if wire != "native":
        settings["TEXT_API"] = wire
    model = ServiceModel()
    return BotTester(App(env_file=None), model=model, settings=settings), model


@pytest.fixture(params=["native", "openai", "responses"])
async def world(request: pytest.FixtureRequest, tmp_path: Path, tracker_port: int,
                secrets: None) -> AsyncIterator[World]:
    async with CompanyApi() as api:
        tester, model = await running(tmp_path, request.param, tracker_port, api)
        async with tester:
            yield World(tester, model, api, request.param)


@pytest.mark.usefixtures("virtual_clock")
async def test_a_read_is_answered_with_its_result_and_the_api_knows_who_asked(
    world: World,
) -> None:
    world.calls(("order_status", {"order_id": "A-1042"}))
    answer = await world.tester.user("Anna", id=USER).says("Where is my order A-1042?")
    # The fake model answers from the tool result it was given (its default after results).
    assert "shipped" in answer.text
    assert "2026-11-27" in answer.text
    (seen,) = world.api.to("/api/orders/A-1042")
    assert seen.method == "GET"
    assert seen.headers["X-Fmbot-User-Id"] == str(USER)
    assert seen.headers["X-Fmbot-Chat-Id"] == str(USER)
    assert seen.headers["X-Fmbot-Language"] == "en"
    assert seen.signed
    assert "Idempotency-Key" not in seen.headers
    first, second = world.completions()
    offered = offered_tools(first)
    # The MCP tracker's allow-listed tools are offered beside the HTTP actions; the tool the
    # allow-list leaves out never is.
    assert {"order_status", "open_ticket", "find_issue", "create_issue"} <= set(offered)
    assert "delete_everything" not in offered
    assert all("delete_everything" not in json.dumps(r) for r in world.completions())
    # The result went back to the model as data from the tool.
    assert any('"for_user": "4242"' in text for text in strings(second))


@pytest.mark.parametrize("world", ["native"], indirect=True)
async def test_an_mcp_tool_is_called_on_the_tracker(world: World) -> None:
    world.calls(("find_issue", {"key": "HELP-7"}))
    answer = await world.tester.user("Anna", id=USER).says("What is the status of HELP-7?")
    assert "in progress" in answer.text
    assert "Olga" in answer.text


@pytest.mark.parametrize("world", ["openai"], indirect=True)
async def test_a_500_and_a_hang_past_timeout_s_reach_the_model_as_short_errors(
    world: World,
) -> None:
    anna = world.tester.user("Anna", id=USER)
    world.calls(("stock_report", {}))
    broken = await anna.says("How much stock is left?")
    assert "error: HTTP 500: Internal Server Error: the shop database is down" in broken.text
    world.calls(("slow_report", {}))
    slow = await anna.says("And the slow report?")
    # The API hangs for an hour: an answer at all means the bot's timeout ended the call,
    # and the answer names the 1 s of timeout_s.
    assert "error: timed out after 1 s" in slow.text
    assert "Traceback" not in broken.text + slow.text


@pytest.mark.parametrize("world", ["responses"], indirect=True)
async def test_a_model_calling_tools_forever_is_stopped_at_tools_max_rounds(
    world: World,
) -> None:
    for n in range(10):  # it would call forever
        world.calls(("order_status", {"order_id": f"L-{n}"}))
    answer = await world.tester.user("Anna", id=USER).says("Check all my orders")
    assert answer.text
    requests = world.completions()
    # TOOLS_MAX_ROUNDS=3 rounds of calls, then once more without tools, told to answer now.
    assert len(requests) == 4
    assert all(offered_tools(r) for r in requests[:3])
    assert "tools" not in requests[3]
    assert len([r for r in world.api.requests if r.path.startswith("/api/orders/L-")]) == 3


@pytest.mark.parametrize("world", ["openai"], indirect=True)
async def test_a_cancel_runs_nothing_and_the_model_is_told(world: World) -> None:
    anna = world.tester.user("Anna", id=USER)
    world.calls(("open_ticket", {"subject": "Refund"}))
    card = await anna.says("Open a ticket about my refund")
    assert len(card.buttons) == 2  # the first confirms, the second cancels
    declined = await anna.presses(card.buttons[1], on=card.messages[-1])
    assert "the user declined this action" in declined.text
    assert world.api.to("/api/tickets") == []
    states = await rows(world.tester, "SELECT state FROM tool_calls")
    assert [r["state"] for r in states] == ["declined"]


async def test_an_mcp_server_down_at_start_is_one_line_and_offered_once_it_answers(
    tmp_path: Path, secrets: None, caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    port = free_port()  # the tracker is not running yet
    async with CompanyApi() as api:
        tester, model = await running(tmp_path, "native", port, api)
        async with tester:
            world = World(tester, model, api, "native")
            anna = tester.user("Anna", id=USER)
            answer = await anna.says("hello")  # the rest of the bot runs
            assert answer.text == "Echo: hello"
            assert "find_issue" not in offered_tools(world.completions()[-1])
            assert "order_status" in offered_tools(world.completions()[-1])
            lines = [r.getMessage() for r in caplog.records
                     if r.name == "bot.features.tools.mcpservers" and r.levelname == "WARNING"]
            assert len(lines) == 1
            assert lines[0].startswith(f"tools.toml: MCP server 'tracker' cannot be reached at "
                                       f"http://127.0.0.1:{port}/mcp (")
            assert "check url and headers in [mcp.tracker]" in lines[0]
            process = await asyncio.to_thread(start_tracker, port)
            try:
                await until(tester, lambda: any(
                    "MCP server 'tracker' answers again" in r.getMessage()
                    for r in caplog.records), 60)
                world.calls(("find_issue", {"key": "HELP-7"}))
                found = await anna.says("What is the status of HELP-7?")
            finally:
                await asyncio.to_thread(stop_tracker, process)
            assert "in progress" in found.text
            assert "find_issue" in offered_tools(world.completions()[-2])
