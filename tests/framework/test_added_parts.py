"""A developer's parts (`bot.App`) inside fmbot's guarantees, through the real Dispatcher, the
real conversation core and the fake model server: routers behind the middlewares and paced by
the outbox, menu commands, context providers in the prompt, hooks that cannot break a turn."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiogram import Router
from aiogram.exceptions import TelegramForbiddenError
from aiogram.filters import Command
from aiogram.methods import SetMyCommands
from aiogram.types import Message
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot import AnswerEvent, App, ToolContext
from bot.app import parts_of
from bot.features.extensions.build import build_runner
from bot.storage.database import Database
from bot.storage.models import Message as StoredMessage
from bot.storage.models import MessageRole
from tests.telegram.harness import ANNA, BORIS, Harness, Person, running_app

OUTSIDER = Person(99, "Eve")


def system_prompt_of(h: Harness, index: int = -1) -> str:
    messages = h.completions()[index]["messages"]
    return "\n".join(m["text"] for m in messages if m["role"] == "system")


@pytest.fixture
def app() -> App:
    app = App(env_file=None)
    router = Router(name="mine")

    @router.message(Command("ping"))
    async def ping(message: Message, session: AsyncSession) -> None:
        """Check that the bot answers"""
        assert session.is_active is not None  # the update's own session is injected
        await message.answer("pong")

    @router.message(Command("burst"))
    async def burst(message: Message) -> None:
        for n in range(8):
            await message.answer(f"part {n}")

    @router.message(Command("blocked"))
    async def blocked(message: Message) -> None:
        try:
            await message.answer("unseen")
        except TelegramForbiddenError:
            await message.bot.send_message(BORIS.id, "Anna blocked me")  # type: ignore[union-attr]

    @router.message(Command("boom"))
    async def boom(message: Message) -> None:
        raise RuntimeError("the developer's bug")

    app.include_router(router)
    app.command("burst", "Send eight messages", ru="Прислать восемь сообщений")
    return app


@pytest.fixture
async def h(sqlite_database: Database, app: App) -> AsyncIterator[Harness]:
    async with running_app(
        sqlite_database,
        allowed_users=[ANNA.id, BORIS.id],
        rate_limit_per_minute=3,
        routers=parts_of(app).registrations.routers,
        menu=parts_of(app).registrations.menu,
        extras=build_runner(parts_of(app).registrations, 0.5),
    ) as harness:
        yield harness


async def test_a_routers_command_is_answered_without_the_model(h: Harness) -> None:
    await h.send("/ping")
    await h.settle()
    assert h.texts(ANNA.id) == ["pong"]
    assert h.model_requests() == []


async def test_an_outsider_never_reaches_the_router(h: Harness) -> None:
    await h.send("/ping", who=OUTSIDER)
    await h.settle()
    assert "pong" not in h.texts(OUTSIDER.id)


async def test_the_rate_limit_applies_to_the_router(h: Harness) -> None:
    for _ in range(5):
        await h.send("/ping", who=BORIS)
    await h.settle()
    await h.wait_until(lambda: len(h.texts(BORIS.id)) >= 4)
    texts = h.texts(BORIS.id)
    assert texts.count("pong") == 3, texts
    assert any(t.startswith("Вы пишете слишком часто") for t in texts), texts


@pytest.mark.slow
async def test_message_answer_is_paced_by_the_outbox_never_a_429(h: Harness) -> None:
    await h.send("/burst")
    await h.wait_until(lambda: len(h.texts(ANNA.id)) == 8, within=10)
    assert h.texts(ANNA.id) == [f"part {n}" for n in range(8)]
    assert h.telegram.flood.refused == [], "every call waited for its slot"


async def test_the_developers_code_sees_aiograms_own_errors(h: Harness) -> None:
    h.telegram.chat(BORIS.id)  # Boris has written to the bot: it may write to him
    h.telegram.block_user(ANNA.id)
    await h.send("/blocked")
    await h.wait_until(lambda: h.texts(BORIS.id) == ["Anna blocked me"])


async def test_a_raising_handler_gets_an_apology_and_a_traceback_in_the_log(
    h: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR):
        await h.send("/boom")
        await h.settle()
    assert len(h.texts(ANNA.id)) == 1
    assert "sorry" in h.texts(ANNA.id)[0].lower()
    record = next(r for r in caplog.records if "error handling update" in r.getMessage())
    assert record.exc_info is not None
    assert "the developer's bug" in str(record.exc_info[1])


async def test_added_commands_join_the_menu_in_english_and_russian(h: Harness) -> None:
    await h.app.set_commands()
    calls = {c.language_code: c for c in h.calls(SetMyCommands)}
    english = {c.command: c.description for c in calls[None].commands}
    russian = {c.command: c.description for c in calls["ru"].commands}
    assert english["ping"] == "Check that the bot answers"  # the handler's docstring
    assert english["burst"] == "Send eight messages"
    assert russian["burst"] == "Прислать восемь сообщений"
    assert {"start", "help", "reset"} <= set(english), "fmbot's own stay"


@pytest.mark.slow
async def test_help_lists_the_added_commands_in_the_users_language(h: Harness) -> None:
    await h.send("/help")
    await h.send("/help", who=BORIS)
    await h.settle()
    english, russian = h.texts(ANNA.id)[-1], h.texts(BORIS.id)[-1]
    assert "/reset - start a new conversation" in english, "fmbot's own stay"
    assert "/ping - Check that the bot answers" in english
    assert "/burst - Send eight messages" in english
    assert "/burst - Прислать восемь сообщений" in russian


# -- context providers and hooks ---------------------------------------------------------------


@pytest.fixture
def seen() -> list[Any]:
    return []


@pytest.fixture
def context_app(seen: list[Any]) -> App:
    app = App(env_file=None)

    @app.context
    async def customer_plan(ctx: ToolContext) -> str | None:
        seen.append(ctx)
        return f"The customer {ctx.user_id} is on the Gold plan."

    @app.context(name="broken")
    async def broken(ctx: ToolContext) -> str | None:
        raise LookupError("the CRM is down")

    @app.context(name="slow")
    async def slow(ctx: ToolContext) -> str | None:
        await asyncio.sleep(30)
        return "never"

    @app.context(name="huge")
    async def huge(ctx: ToolContext) -> str | None:
        return "filler " * 50_000

    @app.on_answer
    async def remember(event: AnswerEvent) -> None:
        seen.append(event)

    @app.on_answer
    async def failing_hook(event: AnswerEvent) -> None:
        raise RuntimeError("the hook's bug")

    @app.on_answer
    async def hanging_hook(event: AnswerEvent) -> None:
        await asyncio.sleep(30)

    return app


@pytest.mark.slow
async def test_a_raising_context_provider_leaves_the_turn_answered(
    sqlite_database: Database,
    context_app: App,
    seen: list[Any],
    caplog: pytest.LogCaptureFixture,
) -> None:
    runner = build_runner(parts_of(context_app).registrations, 0.3)
    assert runner is not None
    async with running_app(sqlite_database, extras=runner) as h:
        h.fm.queue_reply("You are on the Gold plan.")
        with caplog.at_level(logging.WARNING):
            await h.send("What is my plan?")
            await h.settle()
            await runner.wait_idle()
        assert h.texts(ANNA.id) == ["You are on the Gold plan."]
        prompt = system_prompt_of(h)
        assert prompt.startswith("You are a helpful assistant.")
        assert f"The customer {ANNA.id} is on the Gold plan." in prompt
        assert "filler" not in prompt, "what does not fit the budget is left out"
        async with h.db.sessionmaker() as session:
            answer = await session.scalar(
                select(StoredMessage).where(StoredMessage.role == MessageRole.ASSISTANT)
            )
        assert answer is not None
        assert answer.context_providers == ["customer_plan"]
    logs = [r.getMessage() for r in caplog.records]
    assert any("context provider broken failed" in m for m in logs)
    assert any("context provider slow did not answer within 0.3 s" in m for m in logs)
    assert any("context from huge left out of the prompt" in m for m in logs)
    assert any("on_answer hook" in m and "failing_hook failed" in m for m in logs)
    assert any("hanging_hook did not finish within 0.3 s" in m for m in logs)
    ctx = seen[0]
    assert isinstance(ctx, ToolContext)
    assert (ctx.user_id, ctx.chat_id, ctx.language) == (ANNA.id, ANNA.id, "en")
    assert ctx.idempotency_key
    event = seen[1]
    assert isinstance(event, AnswerEvent)
    assert (event.chat_id, event.question, event.answer, event.status) == (
        ANNA.id, "What is my plan?", "You are on the Gold plan.", "complete",
    )
    assert event.context_providers == ("customer_plan",)


async def test_without_providers_the_prompt_is_todays(sqlite_database: Database) -> None:
    extras = build_runner(parts_of(App(env_file=None)).registrations)
    async with running_app(sqlite_database, extras=extras) as h:
        h.fm.queue_reply("Hello!")
        await h.send("Hi")
        await h.settle()
        assert system_prompt_of(h) == "You are a helpful assistant."
