"""A shop's first-line support bot on fmbot: orders, tickets, the customer's plan, a KB.

    python -m bot run --app shop_support:app      (from this folder, with fmbot's .env)

The model looks orders up itself (`order_status`), opens a ticket only after the customer
presses Confirm (`open_ticket`), knows the customer's plan (a context provider), and answers
delivery and warranty questions from the documents in `shop_kb/`. Everything else is fmbot as
configured by the environment: streaming, history, the support desk, replicas.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from aiogram import Router
from aiogram.filters import Command
from aiogram.types import Message

from bot import AnswerEvent, AnswerStatus, App, RunContext, ToolContext

# The shop's own knowledge base, unless the deployment names another.
os.environ.setdefault("KB_PATH", str(Path(__file__).parent / "shop_kb"))

app = App.from_env()
log = logging.getLogger("shop")

# The "shop": orders, customers' plans and tickets, in memory for the example.
ORDERS = {
    "A-1042": {"status": "shipped", "delivery": "2026-11-27", "item": "kettle"},
    "A-1043": {"status": "packing", "delivery": "2026-11-29", "item": "toaster"},
}
PLANS = {7401: "Gold", 7402: "Basic"}
TICKETS: dict[str, dict[str, str]] = {}  # by idempotency key: a retried call opens one ticket


# business=True: also offered to the customers of the owner's connected Telegram Business
# account, where tools are closed unless named (it only reads, so it may be).
@app.tool(business=True)
async def order_status(ctx: ToolContext, order_id: str) -> dict[str, str]:
    """Look up the status and delivery date of an order by its number (like A-1042)."""
    order = ORDERS.get(order_id.strip().upper())
    if order is None:
        return {"error": f"no order {order_id}"}
    return {"order_id": order_id, **order}


@app.tool(confirm=True)
async def open_ticket(ctx: ToolContext, subject: str, order_id: str = "") -> str:
    """Open a support ticket for a problem we cannot solve in the chat (a broken item...)."""
    ticket = TICKETS.setdefault(
        ctx.idempotency_key,
        {"id": f"T-{len(TICKETS) + 1}", "subject": subject, "order_id": order_id,
         "customer": str(ctx.user_id)},
    )
    return f"ticket {ticket['id']} opened"


@app.context
async def customer_plan(ctx: ToolContext) -> str | None:
    plan = PLANS.get(ctx.user_id)
    return f"The customer is on the {plan} plan." if plan else None


router = Router(name="shop")


@router.message(Command("plan"))
async def cmd_plan(message: Message) -> None:
    """Show your plan"""
    user = message.from_user
    plan = PLANS.get(user.id) if user else None
    await message.answer(f"Your plan: {plan or 'none yet'}.")


app.include_router(router)
app.command("plan", "Show your plan", ru="Показать ваш тариф")


READY: list[str] = []  # the bot's username once it has started
ANSWERED: dict[AnswerStatus, int] = {}  # answers by how they ended


@app.on_startup
async def announce(ctx: RunContext) -> None:
    me = await ctx.bot.get_me()
    READY.append(me.username or "")
    log.info("shop support ready: %d orders, %d customers", len(ORDERS), len(PLANS))
    # Settings read flat (TEXT_MODEL) or a feature's by its variable, the defaults resolved
    # (KB_MODE).
    log.info("answering as @%s with %s, knowledge base %s", me.username,
             ctx.settings.text_model, ctx.settings.value("KB_MODE"))


@app.on_answer
async def log_answer(event: AnswerEvent) -> None:
    ANSWERED[event.status] = ANSWERED.get(event.status, 0) + 1
    tools = ", ".join(call.name for call in event.tool_calls) or "none"
    log.info("answered chat %s (tools: %s)", event.chat_id, tools)
