"""What operators see and do in the support chat (issue 27): the rating comment where they
look, and the report (item 6); the card's buttons and /close replies, the operator's words in
the model's history (item 12c)."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from bot.desk import SupportHours
from bot.desk.report import build_report, format_report, write_csv
from bot.storage.database import Database
from tests.desk.harness import OPERATOR, SUPPORT, DeskWorld, desk_world

pytestmark = pytest.mark.timeout(120)


async def hand_over(w: DeskWorld, user_id: int, text: str = "/operator") -> int:
    w.tg.send_user_message(user_id, text)
    thread = await w.wait_for(lambda: w.topic_of(user_id))
    await w.wait_for(lambda: w.in_topic(thread))  # the card
    return thread


async def test_a_rating_comment_reaches_the_topic_the_report_and_the_csv(
    sqlite_database: Database, tmp_path: Path
) -> None:
    async with desk_world(sqlite_database) as w:
        user = 7001
        thread = await hand_over(w, user)
        rated, case = await w.close_for_rating(user, thread)
        w.tg.send_callback_query(user, rated.message_id, f"csat:{case}:2")
        await w.wait_for(lambda: "comment" in str(w.tg.chat(user).find(rated.message_id)
                                                 .reply_markup))  # type: ignore[union-attr]  # fmt: skip
        w.tg.send_callback_query(user, rated.message_id, f"csat:{case}:comment")
        await w.wait_for(lambda: any("one message" in t for t in w.texts(user)))
        w.tg.send_user_message(user, "Slow, and the refund is still missing")
        posted = await w.wait_for(lambda: [
            m for m in w.in_topic(thread) if "refund is still missing" in (m.text or "")
        ])  # fmt: skip
        assert posted[0].text == (
            "💬 Rating 2/5, the user's comment:\nSlow, and the refund is still missing"
        )
        assert w.tg.topic(SUPPORT, thread).closed  # posted in the closed topic
    report = await build_report(sqlite_database.sessionmaker, days=1,
                                hours=SupportHours.parse(""))
    shown = format_report(report)
    assert "Rating comments (newest first):" in shown
    assert "2/5: Slow, and the refund is still missing" in shown
    path = tmp_path / "report.csv"
    write_csv(report, path)
    with path.open(encoding="utf-8") as rows:
        [row] = list(csv.DictReader(rows))
    assert (row["csat"], row["csat_comment"]) == ("2", "Slow, and the refund is still missing")


assert OPERATOR  # used by the tests below
