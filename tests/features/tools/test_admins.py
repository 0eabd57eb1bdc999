"""Who is an admin is one rule (ADMIN_USER_IDS, or the admin role stored for the user), decided
once per update and read everywhere: quotas, admin-only tools, the App's context providers."""

from __future__ import annotations

import pytest

from bot import AnswerEvent, App, ToolContext
from bot.storage.models import User, UserRole
from bot.storage.repositories import UserRepository
from bot.testing import BotTester, ScriptedModel

pytestmark = [pytest.mark.timeout(60)]


async def test_a_stored_admin_is_an_admin_for_admin_only_tools_too() -> None:
    app = App(env_file=None)
    ran: list[tuple[int, bool]] = []
    contexts: list[tuple[int, bool]] = []

    @app.tool(admins_only=True)
    async def refunds_today(ctx: ToolContext) -> str:
        """How many refunds were made today."""
        ran.append((ctx.user_id, ctx.is_admin))
        return "3 refunds"

    @app.context
    async def who(ctx: ToolContext) -> str | None:
        contexts.append((ctx.user_id, ctx.is_admin))
        return None

    answered: list[tuple[int, bool]] = []

    @app.on_answer
    async def told(event: AnswerEvent) -> None:
        answered.append((event.user_id, event.is_admin))

    model = ScriptedModel()
    model.when("refunds").call("refunds_today").answer("Today: {result}")
    async with BotTester(app, model=model) as tester:
        vera, bob = tester.user("Vera"), tester.user("Bob")
        # Vera is an admin by the role stored for her, not by ADMIN_USER_IDS (empty here).
        async with tester.built.core.db.sessionmaker() as session:
            users = UserRepository(session)
            await users.upsert(vera.id, "Vera", None, None, "en")
            assert await users.set_role(vera.id, UserRole.ADMIN)
            await session.commit()
        reply = await vera.says("How many refunds today?")
        assert ran == [(vera.id, True)]
        assert "3 refunds" in reply.text
        assert tester.model.asked[0].tools == ("refunds_today",)
        assert contexts[0] == (vera.id, True)
        # Anyone else is not offered the tool, and is no admin to the App either.
        await bob.says("How many refunds today?")
        assert ran == [(vera.id, True)]
        assert tester.model.asked[-1].tools == ()
        assert contexts[-1] == (bob.id, False)
        # The App's on_answer hooks read the same decision.
        await tester.settle()
        assert answered == [(vera.id, True), (bob.id, False)]


async def test_a_blocked_user_is_refused_at_admission_before_any_feature() -> None:
    """Blocked is part of the same decision: the update is dropped at the gate, silently (no
    reply that would tell a spammer to try again), and no feature, model or tool sees it."""
    app = App(env_file=None)
    seen: list[int] = []

    @app.context
    async def who(ctx: ToolContext) -> str | None:
        seen.append(ctx.user_id)
        return None

    model = ScriptedModel(otherwise="Hello!")
    async with BotTester(app, model=model) as tester:
        mallory, anna = tester.user("Mallory"), tester.user("Anna")
        async with tester.built.core.db.sessionmaker() as session:
            users = UserRepository(session)
            await users.upsert(mallory.id, "Mallory", None, None, "en")
            row = await session.get(User, mallory.id)
            assert row is not None
            row.blocked = True
            await session.commit()
        refused = await mallory.says("hello?")
        assert refused.messages == ()
        assert seen == []
        assert tester.model.asked == []
        # Anyone else is answered as before.
        assert (await anna.says("hello?")).text == "Hello!"
        assert seen == [anna.id]
