"""A bot with the console on, and a day of conversations to look at: a customer whose order a
tool looked up, whose delivery question the knowledge base answered, and who then asked for a
person; another who wrote HTML; an admin who signs in."""

from __future__ import annotations

import datetime as dt
import shutil
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from aiogram.types import Chat, Message, Update

from bot import App, ToolContext
from bot.testing import BotTester, ScriptedModel, TestUser
from tests.features.knowledge.conftest import FIXTURE_KB, FIXTURE_MIN_SCORE
from tests.ports import free_port

SUPPORT = -1001234567890
ADMIN = 7001
HTML = "<script>alert('x')</script><b>bold</b> & <img src=x onerror=alert(1)>"


def shop() -> App:
    app = App(env_file=None)

    @app.tool
    async def order_status(ctx: ToolContext, order_id: str) -> dict[str, str]:
        """Look up the status and delivery date of an order by its number."""
        return {"order_id": order_id, "status": "shipped", "delivery": "2026-06-12"}

    return app


DRAFT = ('{"persona": "Mira, polite, writes short messages in English", '
         '"goal": "find out when her order A-1042 arrives", '
         '"facts": ["the order number is A-1042"]}')


def model() -> ScriptedModel:
    scripted = ScriptedModel(otherwise="Standard delivery takes 2 to 4 working days [1].")
    # The console's "make an eval case": the model drafts the customer from the transcript.
    scripted.when(lambda r: "test case for a support bot" in r.system).answer(DRAFT)
    scripted.when("A-1042").call("order_status", order_id="A-1042").answer(
        "Your order has shipped: {result}")
    return scripted


@dataclass
class World:
    tester: BotTester
    base: str  # http://127.0.0.1:<port>
    lead: TestUser
    anna: TestUser
    boris: TestUser

    @property
    def console(self) -> str:
        return f"{self.base}/console"

    async def sign_in_link(self) -> str:
        """The lead's /console: the one-time button's URL."""
        reply = await self.lead.says("/console")
        [[button]] = reply.messages[-1].buttons
        return str(button["url"])


async def in_topic(tester: BotTester, operator: TestUser, thread: int, text: str) -> None:
    """`operator` writes `text` in the support chat's topic `thread`."""
    chat = Chat(id=SUPPORT, type="supergroup", title="Support", is_forum=True)
    await tester.exchange(SUPPORT, Update(update_id=tester.next_update_id(), message=Message(
        message_id=tester.telegram.next_message_id(SUPPORT), date=dt.datetime.now(dt.UTC),
        chat=chat, from_user=operator.telegram_user(), text=text, message_thread_id=thread,
        is_topic_message=True)))


@asynccontextmanager
async def console_world(
    tmp_path: Path, *, cases_file: bool = True, settings: dict[str, str] | None = None,
    port: int | None = None,
) -> AsyncIterator[World]:
    """`cases_file`: EVAL_CASES_FILE is set (the console writes eval cases to
    tmp_path/from-console.toml), else cases are downloaded; `settings`: more of them;
    `port`: the web server's (a free one if None)."""
    docs = tmp_path / "documents"
    shutil.copytree(FIXTURE_KB, docs)
    port = port or free_port()
    base = f"http://127.0.0.1:{port}"
    more = settings or {}
    settings = {
        "CONSOLE": "on", "WEB_LISTEN": f"127.0.0.1:{port}", "PUBLIC_URL": base,
        "ADMIN_USER_IDS": str(ADMIN), "SUPPORT_CHAT_ID": str(SUPPORT), "DESK_INSIGHTS": "off",
        "KB_PATH": str(docs), "KB_MODE": "assist", "KB_MIN_SCORE": str(FIXTURE_MIN_SCORE),
        "EMBEDDING_RPS": "200",
        "EVAL_CASES_FILE": str(tmp_path / "from-console.toml") if cases_file else "",
        **more,
    }
    # Real time: a browser and an HTTP client talk to the console over loopback sockets.
    async with BotTester(shop(), model=model(), settings=settings, real_time=True) as tester:
        lead = tester.user("Lena", id=ADMIN)
        anna, boris = tester.user("Anna"), tester.user("Boris")
        await anna.says("When does my order A-1042 arrive?")
        await anna.says("How long does standard delivery take?")
        await anna.says("/operator")
        olga = tester.user("Olga")
        tester.telegram.set_member(SUPPORT, olga.id)
        [card] = [c for c in tester.sent if c.chat_id == SUPPORT and c.method == "sendMessage"]
        thread = int(card.params["message_thread_id"])
        await in_topic(tester, olga, thread, "// <i>check</i> the warehouse first")
        await in_topic(tester, olga, thread, "Hello Anna, I am checking with the warehouse now.")
        await boris.says(HTML)
        yield World(tester, base, lead, anna, boris)
