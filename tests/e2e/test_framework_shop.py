"""examples/shop_support.py run as `python -m bot run --app shop_support:app` against the fake
servers: its command, its order-status tool called by the model, its ticket tool opened only
after the customer's press, the customer's plan in the prompt, its own knowledge base, its
on_answer hook."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.conftest import REPO_ROOT
from tests.e2e.harness import E2E

pytestmark = [pytest.mark.process, pytest.mark.timeout(120)]

EXAMPLES = REPO_ROOT / "examples"
GOLD = 7401


def completions(e2e: E2E) -> list[Any]:
    return [r.json for r in e2e.fm.requests if r.path.endswith("/completion")]


def system_text(body: Any) -> str:
    return "\n".join(m.get("text", "") for m in body["messages"] if m["role"] == "system")


async def test_the_shop_example_runs_end_to_end(tmp_path: Path) -> None:
    async with E2E(
        tmp_path,
        bot_args=("run", "--app", "shop_support:app"),
        extra_env={"PYTHONPATH": str(EXAMPLES)},
    ) as e2e:
        await e2e.start_bot()
        e2e.tg.send_user_message(GOLD, "/plan")
        await e2e.wait_for(lambda: e2e.texts(GOLD) == ["Your plan: Gold."])

        # A read: the model calls order_status and answers from its result.
        e2e.fm.queue_reply("", tool_calls=[{"name": "order_status",
                                            "arguments": {"order_id": "A-1042"}}])
        e2e.fm.queue_reply("Your kettle has shipped; it arrives on 27 November.", chunks=2)
        e2e.tg.send_user_message(GOLD, "Where is my order A-1042?")
        await e2e.wait_for(lambda: len(e2e.texts(GOLD)) == 2, 30)
        assert e2e.texts(GOLD)[1] == "Your kettle has shipped; it arrives on 27 November."
        first, second = completions(e2e)[-2:]
        assert "The customer is on the Gold plan." in system_text(first)
        offered = {t["function"]["name"] for t in first.get("tools", [])}
        assert {"order_status", "open_ticket"} <= offered
        assert "2026-11-27" in str(second["messages"]), "the tool's result reached the model"

        # A write: the ticket waits for the customer's press, then is opened once.
        e2e.fm.queue_reply("", tool_calls=[{"name": "open_ticket", "arguments": {
            "subject": "Broken kettle", "order_id": "A-1042"}}])
        e2e.fm.queue_reply("Ticket T-1 is open; we will call you tomorrow.")
        e2e.tg.send_user_message(GOLD, "The kettle from A-1042 is broken")
        card = await e2e.wait_for(lambda: next(
            (m for m in e2e.tg.chat(GOLD).bot_messages if m.reply_markup), None), 30)
        assert len(completions(e2e)) == 3, "nothing more before the press"
        buttons = [b for row in card.reply_markup["inline_keyboard"] for b in row]
        confirm = buttons[0]["callback_data"]
        e2e.tg.send_callback_query(GOLD, card.message_id, confirm)
        await e2e.wait_for(
            lambda: any("Ticket T-1 is open" in t for t in e2e.texts(GOLD)), 30
        )
        rows = e2e.db.query("SELECT name, state, result FROM tool_calls ORDER BY id")
        assert [(r["name"], r["state"]) for r in rows] == [
            ("order_status", "done"), ("open_ticket", "done"),
        ]
        assert "ticket T-1 opened" in rows[1]["result"]
        contributed = e2e.db.query(
            "SELECT context_providers FROM messages WHERE role = 'assistant' "
            "AND context_providers IS NOT NULL"
        )
        assert contributed, "the stored turns record the plan provider"
        assert await e2e.bot.terminate() == 0
        log = e2e.bot.log_text()
        assert f"answered chat {GOLD} (tools: order_status)" in log
        assert "shop support ready: 2 orders, 2 customers" in log
        documents = e2e.db.query("SELECT path FROM kb_documents ORDER BY path")
        assert [d["path"] for d in documents] == ["delivery.md", "warranty.md"], log[-2000:]
