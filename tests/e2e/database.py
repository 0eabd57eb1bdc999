"""The bot's SQLite database read with the stdlib (no ``bot`` imports), for consistency checks."""

from __future__ import annotations

import contextlib
import json
import sqlite3
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    pass


class Database:
    """The bot's SQLite file, read with the stdlib after (or while) the bot runs."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def query(self, sql: str, params: tuple[Any, ...] = ()) -> list[dict[str, Any]]:
        if not self.path.exists():
            return []  # the bot has not created it yet
        with contextlib.closing(sqlite3.connect(f"file:{self.path}?mode=ro", uri=True)) as db:
            db.row_factory = sqlite3.Row
            db.execute("PRAGMA busy_timeout = 5000")
            return [dict(row) for row in db.execute(sql, params)]

    def count(self, table: str, where: str = "1=1", params: tuple[Any, ...] = ()) -> int:
        return int(self.query(f"SELECT count(*) AS n FROM {table} WHERE {where}", params)[0]["n"])

    def messages(self, chat_id: int | None = None) -> list[dict[str, Any]]:
        sql = (
            "SELECT m.*, c.chat_id FROM messages m JOIN conversations c "
            "ON c.id = m.conversation_id"
        )
        if chat_id is None:
            return self.query(sql + " ORDER BY m.id")
        return self.query(sql + " WHERE c.chat_id = ? ORDER BY m.id", (chat_id,))

    def image_jobs(self) -> list[dict[str, Any]]:
        return self.query("SELECT * FROM image_jobs ORDER BY id")

    def check_consistency(self, *, settled: bool = True) -> list[str]:
        """Problems found; ``settled`` = the bot is stopped or idle (nothing may be in flight)."""
        problems: list[str] = []
        if (ok := self.query("PRAGMA integrity_check")[0]) and next(iter(ok.values())) != "ok":
            problems.append(f"integrity_check: {ok}")
        for row in self.query("PRAGMA foreign_key_check"):
            problems.append(f"foreign key violation: {row}")
        for row in self.query(
            "SELECT chat_id, count(*) AS n FROM conversations WHERE closed_at IS NULL "
            "GROUP BY chat_id HAVING n > 1"
        ):
            problems.append(f"chat {row['chat_id']} has {row['n']} open conversations")
        # A Telegram message is stored once; an edited question answered anew is stored again
        # with the same id and its new text (handlers/chat.py), so the text is part of the key.
        seen: dict[tuple[int, int, str], int] = {}
        for m in self.messages():
            if m["role"] != "user":
                continue
            for tg_id in json.loads(m["telegram_message_ids"] or "[]"):
                key = (m["chat_id"], tg_id, m["text"])
                if key in seen:
                    problems.append(
                        f"user message {key[:2]} stored twice (rows {seen[key]}, {m['id']})"
                    )
                seen[key] = m["id"]
        if settled:
            for m in self.query("SELECT id FROM messages WHERE status = 'streaming'"):
                problems.append(f"message {m['id']} left in status streaming")
            for job in self.query(
                "SELECT id, status FROM image_jobs WHERE status IN ('pending', 'running')"
            ):
                problems.append(f"image job {job['id']} left {job['status']}")
            for row in self.query(
                "SELECT update_id FROM processed_updates WHERE payload IS NOT NULL"
            ):
                problems.append(f"update {row['update_id']} left in the durable queue")
        for job in self.query(
            "SELECT id FROM image_jobs WHERE status = 'delivered' AND result_message_id IS NULL"
        ):
            problems.append(f"image job {job['id']} delivered without a result message id")
        return problems
