"""The e2e harness itself: fakes as processes, and the database consistency checks."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import aiohttp
import pytest

from bot.storage.migrations import migrate
from tests.e2e.harness import Database, start_fm_process, start_telegram_process


@pytest.mark.slow
async def test_fakes_run_as_processes_with_their_control_apis() -> None:
    tg = await start_telegram_process(flood=False)
    fm = await start_fm_process()
    try:
        async with aiohttp.ClientSession() as http:
            async with http.post(f"{tg.url}/_control/user_message",
                                 json={"chat_id": 5, "text": "hi"}) as resp:
                assert resp.status == 200
            async with http.get(f"{tg.url}/_control/stats") as resp:
                assert (await resp.json())["pending_updates"] == 1
            async with http.get(f"{fm.url}/_control/requests") as resp:
                assert resp.status == 200
                assert await resp.json() == []
    finally:
        assert await tg.stop() == 0
        await fm.stop()


@pytest.mark.slow
async def test_consistency_check_finds_broken_rows(tmp_path: Path) -> None:
    path = tmp_path / "bot.db"
    await migrate(f"sqlite+aiosqlite:///{path}")
    db = Database(path)
    assert db.check_consistency() == []
    now = "2026-01-01 00:00:00.000000"
    with sqlite3.connect(path) as conn:
        conn.execute("INSERT INTO chats VALUES (1, 'private', NULL, NULL, NULL, ?, ?)", (now, now))
        conn.execute("INSERT INTO conversations (id, chat_id, opened_at) VALUES (1, 1, ?)", (now,))
        for status in ("complete", "streaming"):
            conn.execute(
                "INSERT INTO messages (conversation_id, role, status, text, telegram_message_ids,"
                " created_at, updated_at) VALUES (1, 'user', ?, 'hi', '[7]', ?, ?)",
                (status, now, now),
            )
        conn.execute(
            "INSERT INTO image_jobs (chat_id, user_id, prompt, options, status, created_at,"
            " updated_at) VALUES (1, 1, 'fox', '{}', 'delivered', ?, ?)",
            (now, now),
        )
    problems = db.check_consistency()
    assert any("stored twice" in p for p in problems)
    assert any("left in status streaming" in p for p in problems)
    assert any("without a result message id" in p for p in problems)
    assert [m["chat_id"] for m in db.messages(1)] == [1, 1]
