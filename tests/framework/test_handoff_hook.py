"""`App.on_handoff` through the real support desk: the hook gets the user and the reason; one
that raises or hangs changes nothing for the user or the operators."""

from __future__ import annotations

import asyncio
import logging

import pytest

from bot import App, HandoffEvent
from bot.app import parts_of
from bot.features.extensions.build import build_runner
from bot.storage.database import Database
from tests.features.desk.harness import desk_world


@pytest.mark.slow
async def test_on_handoff_hooks_run_and_cannot_break_the_handoff(
    sqlite_database: Database, caplog: pytest.LogCaptureFixture
) -> None:
    app = App(env_file=None)
    seen: list[HandoffEvent] = []

    @app.on_handoff
    async def page_the_team(event: HandoffEvent) -> None:
        seen.append(event)

    @app.on_handoff
    async def broken(event: HandoffEvent) -> None:
        raise ConnectionError("the pager is down")

    @app.on_handoff
    async def stuck(event: HandoffEvent) -> None:
        await asyncio.sleep(30)

    runner = build_runner(parts_of(app).registrations, 0.2)
    assert runner is not None
    async with desk_world(sqlite_database, on_handoff=runner.handed_over) as w:  # as the wiring
        user = 6101
        with caplog.at_level(logging.WARNING):
            w.tg.send_user_message(user, "/operator")
            thread = await w.wait_for(lambda: w.topic_of(user))
            await w.wait_for(lambda: w.in_topic(thread))
            await runner.wait_idle()
        assert seen == [HandoffEvent(chat_id=user, user_id=user, reason="user_request")]
        assert w.desk.service.owned(user)
    logs = [r.getMessage() for r in caplog.records]
    assert any("on_handoff hook" in m and "broken failed" in m for m in logs)
    assert any("on_handoff hook" in m and "stuck did not finish within 0.2 s" in m for m in logs)
