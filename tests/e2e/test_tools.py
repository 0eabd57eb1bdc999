"""Issue 24 end to end: the bot as `run` builds it with a TOOLS_FILE against the fake Telegram
and Yandex servers, a company API on loopback (it checks the identity headers and the
signature) and an MCP tracker built with the official SDK. A confirmed write on each of the
three wires (native, TEXT_API=openai and TEXT_API=responses), the bot stopped between the card
and the press: run once. The bot runs in the test's process and stops gracefully (each wire's
shape of the waiting calls, carried over a restart, is the subject); killed with SIGKILL
between the card and the press, as a process, in test_faults_process.py. Reads,
errors and timeouts, the round limit, a cancel and MCP are tested through the kit:
tests/features/tools/test_tools_file.py."""

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
    start_tracker,
    stop_tracker,
    tools_file,
)
from tests.ports import free_port

pytest.importorskip("mcp", reason="the MCP extra is not installed (pip install 'fmbot[mcp]')")
pytestmark = [pytest.mark.timeout(180)]

USER = 4242


@dataclass
class ToolsWorld:
    e2e: E2E
    api: CompanyApi
    wire: str

    def call(self, name: str, arguments: dict[str, Any], call_id: str | None = None) -> dict[
            str, Any]:
        return {"name": name, "arguments": arguments, **({"id": call_id} if call_id else {})}


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
        async with E2E(tmp_path, extra_env=env, in_process=True) as e2e:
            try:
                yield ToolsWorld(e2e, api, wire)
            finally:
                report = getattr(request.node, "report_call", None)
                if report is not None and report.failed and e2e.bot.log_path.exists():
                    print(f"--- bot log, last lines:\n{e2e.bot.log_tail(80)}")


def card_buttons(world: ToolsWorld) -> tuple[int, list[str]] | None:
    """The newest confirmation card in the user's chat: (message id, its buttons' data)."""
    return card_in(world.e2e, USER)


async def test_a_write_is_confirmed_once_after_a_stop_between_card_and_press(
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
    # The bot stops between the card and the press, and comes back.
    await e2e.restart_bot()
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
