import logging

from aiogram import Router
from aiogram.filters import Command
from aiogram.types import Message

from bot import AnswerEvent, App, ToolContext

app = App.from_env()  # exactly today's bot, configured from the environment / .env

@app.tool  # the model may call it; @app.tool(confirm=True) waits for the user's press
async def order_status(ctx: ToolContext, order_id: str) -> dict[str, str]:
    """Look up the status of an order by its number."""
    return {"order_id": order_id, "status": "shipped", "delivery": "2026-11-27"}

@app.context  # text added to the system prompt of every turn
async def customer_plan(ctx: ToolContext) -> str | None:
    return f"The customer {ctx.user_id} is on the Gold plan."

router = Router()

@router.message(Command("ping"))  # plain aiogram: runs before the model's chat handler
async def ping(message: Message) -> None:
    """Check that the bot answers"""
    await message.answer("pong")

app.include_router(router)

@app.on_answer  # hooks: on_startup, on_shutdown, on_answer, on_handoff
async def log_answer(event: AnswerEvent) -> None:
    logging.getLogger("mybot").info("answered %s: %s", event.chat_id, event.answer)
