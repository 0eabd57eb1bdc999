"""Issue 24 end to end: `python -m bot run` with a TOOLS_FILE against the fake Telegram and
Yandex servers, a company API on loopback (it checks the identity headers and the signature)
and an MCP tracker built with the official SDK. A read and a confirmed write run on each of the
three wires (native, TEXT_API=openai and TEXT_API=responses), where tool calls and results take
different shapes; the stories whose logic is the bot's own (errors and timeouts, the round
limit, a cancel, MCP) run on one wire each, the wires taking turns (a bot start fewer each)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.harness import E2E
from tests.e2e.tools_world import (
    MCP_KEY,
    SECRET,
    SHOP_TOKEN,
    CompanyApi,
    card_in,
    offered_tools,
    start_tracker,
    stop_tracker,
    tools_file,
)
from tests.ports import free_port

pytest.importorskip("mcp", reason="the MCP extra is not installed (pip install 'fmbot[mcp]')")
pytestmark = [pytest.mark.process, pytest.mark.timeout(180)]

USER = 4242


@dataclass
class ToolsWorld:
    e2e: E2E
    api: CompanyApi
    wire: str

    def completions(self) -> list[dict[str, Any]]:
        path = {"openai": "/v1/chat/completions", "responses": "/v1/responses"}.get(
            self.wire, "/completion")
        return [r.json for r in self.e2e.fm.requests if r.path.endswith(path)]

    def call(self, name: str, arguments: dict[str, Any], call_id: str | None = None) -> dict[
            str, Any]:
        return {"name": name, "arguments": arguments, **({"id": call_id} if call_id else {})}

    async def ask(self, text: str, *, answers: int = 1) -> list[str]:
        before = len(self.e2e.texts(USER))
        self.e2e.tg.send_user_message(USER, text, language_code="en")
        await self.e2e.wait_for(lambda: len(self.e2e.texts(USER)) >= before + answers, 30)
        return self.e2e.texts(USER)[before:]


def strings(node: Any) -> list[str]:
    """Every string inside a request body."""
    if isinstance(node, str):
        return [node]
    if isinstance(node, dict):
        return [s for value in node.values() for s in strings(value)]
    if isinstance(node, list):
        return [s for value in node for s in strings(value)]
    return []


@pytest.fixture(scope="module")
def tracker_port() -> AsyncIterator[int]:
    port = free_port()
    process = start_tracker(port)
    yield port  # type: ignore[misc]
    stop_tracker(process)


@pytest.fixture(params=["native", "openai", "responses"])
async def world(
    request: pytest.FixtureRequest, tmp_path: Path, tracker_port: int
) -> AsyncIterator[ToolsWorld]:
    wire = request.param
    async with CompanyApi() as api:
        env = {
            "TOOLS_FILE": str(tools_file(tmp_path, api.url, tracker_port)),
            "TOOLS_SIGNING_SECRET": SECRET,
            "SHOP_TOKEN": SHOP_TOKEN,
            "MCP_KEY": MCP_KEY,
            "TOOLS_MAX_ROUNDS": "3",
        }
        if wire != "native":
            env["TEXT_API"] = wire
        async with E2E(tmp_path, extra_env=env) as e2e:
            try:
                yield ToolsWorld(e2e, api, wire)
            finally:
                report = getattr(request.node, "report_call", None)
                if report is not None and report.failed and e2e.bot.log_path.exists():
                    print(f"--- bot log, last lines:\n{e2e.bot.log_tail(80)}")


async def test_a_read_is_answered_with_its_result_and_the_api_knows_who_asked(
    world: ToolsWorld,
) -> None:
    e2e = world.e2e
    e2e.fm.queue_reply("", tool_calls=[world.call("order_status", {"order_id": "A-1042"})])
    await e2e.start_bot()
    (answer,) = await world.ask("Where is my order A-1042?")
    # The fake model answers from the tool result it was given (its default after results).
    assert "shipped" in answer
    assert "2026-11-27" in answer
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
async def test_an_mcp_tool_is_called_on_the_tracker(world: ToolsWorld) -> None:
    e2e = world.e2e
    e2e.fm.queue_reply("", tool_calls=[world.call("find_issue", {"key": "HELP-7"})])
    await e2e.start_bot()
    (answer,) = await world.ask("What is the status of HELP-7?")
    assert "in progress" in answer
    assert "Olga" in answer


@pytest.mark.parametrize("world", ["openai"], indirect=True)
async def test_a_500_and_a_hang_past_timeout_s_reach_the_model_as_short_errors(
    world: ToolsWorld,
) -> None:
    e2e = world.e2e
    e2e.fm.queue_reply("", tool_calls=[world.call("stock_report", {})])
    await e2e.start_bot()
    (broken,) = await world.ask("How much stock is left?")
    assert "error: HTTP 500: Internal Server Error: the shop database is down" in broken
    e2e.fm.queue_reply("", tool_calls=[world.call("slow_report", {})])
    (slow,) = await world.ask("And the slow report?")
    # The API hangs for an hour: an answer at all means the bot's timeout ended the call,
    # and the answer names the 1 s of timeout_s.
    assert "error: timed out after 1 s" in slow
    assert "Traceback" not in broken + slow


@pytest.mark.parametrize("world", ["responses"], indirect=True)
async def test_a_model_calling_tools_forever_is_stopped_at_tools_max_rounds(
    world: ToolsWorld,
) -> None:
    e2e = world.e2e
    for n in range(10):  # it would call forever
        e2e.fm.queue_reply("", tool_calls=[world.call("order_status", {"order_id": f"L-{n}"})])
    await e2e.start_bot()
    (answer,) = await world.ask("Check all my orders")
    assert answer
    requests = world.completions()
    # TOOLS_MAX_ROUNDS=3 rounds of calls, then once more without tools, told to answer now.
    assert len(requests) == 4
    assert all(offered_tools(r) for r in requests[:3])
    assert "tools" not in requests[3]
    assert len([r for r in world.api.requests if r.path.startswith("/api/orders/L-")]) == 3


def card_buttons(world: ToolsWorld) -> tuple[int, list[str]] | None:
    """The newest confirmation card in the user's chat: (message id, its buttons' data)."""
    return card_in(world.e2e, USER)


async def test_a_write_is_confirmed_once_after_a_sigkill_between_card_and_press(
    world: ToolsWorld,
) -> None:
    e2e = world.e2e
    e2e.fm.queue_reply("", tool_calls=[world.call("open_ticket", {"subject": "Broken kettle"})])
    await e2e.start_bot()
    e2e.tg.send_user_message(USER, "My kettle arrived broken, open a ticket", language_code="en")
    message_id, buttons = await e2e.wait_for(lambda: card_buttons(world), 30)
    assert len(buttons) == 2  # exactly two: the first confirms, the second cancels
    card = e2e.tg.chat(USER).find(message_id)
    assert card is not None
    assert "open_ticket" in (card.text or "")
    assert "Broken kettle" in (card.text or "")
    assert world.api.to("/api/tickets") == []  # nothing is called before the press
    # The bot dies between the card and the press, and comes back.
    await e2e.restart_bot(hard=True)
    before = len(e2e.texts(USER))
    e2e.tg.send_callback_query(USER, message_id, buttons[0])
    e2e.tg.send_callback_query(USER, message_id, buttons[0])  # pressed twice
    await e2e.wait_for(lambda: any("T-1" in t for t in e2e.texts(USER)[before:]), 30)
    await asyncio.sleep(1.0)  # a second run would show by now
    posts = world.api.to("/api/tickets")
    assert len(posts) == 1
    assert len(world.api.tickets) == 1
    assert posts[0].signed
    assert posts[0].headers["X-Fmbot-User-Id"] == str(USER)
    key = posts[0].headers["Idempotency-Key"]
    assert key
    assert json.loads(posts[0].body) == {"subject": "Broken kettle"}
    rows = e2e.db.query("SELECT state, decided_by, idempotency_key FROM tool_calls")
    assert [tuple(r.values()) for r in rows] == [("done", USER, key)]


@pytest.mark.parametrize("world", ["openai"], indirect=True)
async def test_a_cancel_runs_nothing_and_the_model_is_told(world: ToolsWorld) -> None:
    e2e = world.e2e
    e2e.fm.queue_reply("", tool_calls=[world.call("open_ticket", {"subject": "Refund"})])
    await e2e.start_bot()
    e2e.tg.send_user_message(USER, "Open a ticket about my refund", language_code="en")
    message_id, buttons = await e2e.wait_for(lambda: card_buttons(world), 30)
    before = len(e2e.texts(USER))
    e2e.tg.send_callback_query(USER, message_id, buttons[1])
    answer = await e2e.wait_for(
        lambda: next((t for t in e2e.texts(USER)[before:] if "declined" in t), None), 30)
    assert "the user declined this action" in answer
    assert world.api.to("/api/tickets") == []
    rows = e2e.db.query("SELECT state FROM tool_calls")
    assert [tuple(r.values()) for r in rows] == [("declined",)]


async def test_an_mcp_server_down_at_start_is_one_line_and_offered_once_it_answers(
    tmp_path: Path,
) -> None:
    port = free_port()  # the tracker is not running yet
    async with CompanyApi() as api:
        env = {"TOOLS_FILE": str(tools_file(tmp_path, api.url, port)),
               "TOOLS_SIGNING_SECRET": SECRET, "SHOP_TOKEN": SHOP_TOKEN, "MCP_KEY": MCP_KEY}
        async with E2E(tmp_path, extra_env=env) as e2e:
            await e2e.start_bot()
            world = ToolsWorld(e2e, api, "native")
            (answer,) = await world.ask("hello")  # the rest of the bot runs
            assert answer == "Echo: hello"
            assert "find_issue" not in offered_tools(world.completions()[-1])
            assert "order_status" in offered_tools(world.completions()[-1])
            lines = [r["message"] for r in e2e.bot.log_records()
                     if r.get("logger") == "bot.features.tools.mcpservers"
                     and r["level"] == "WARNING"]
            assert len(lines) == 1
            assert lines[0].startswith(f"tools.toml: MCP server 'tracker' cannot be reached at "
                                       f"http://127.0.0.1:{port}/mcp (")
            assert "check url and headers in [mcp.tracker]" in lines[0]
            process = await asyncio.to_thread(start_tracker, port)
            try:
                await e2e.wait_for(lambda: any(
                    "MCP server 'tracker' answers again" in r.get("message", "")
                    for r in e2e.bot.log_records()), 60)
                e2e.fm.queue_reply("", tool_calls=[world.call("find_issue", {"key": "HELP-7"})])
                (found,) = await world.ask("What is the status of HELP-7?")
            finally:
                await asyncio.to_thread(stop_tracker, process)
            assert "in progress" in found
            assert "find_issue" in offered_tools(world.completions()[-2])
