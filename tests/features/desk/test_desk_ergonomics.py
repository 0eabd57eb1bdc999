"""What operators see and do in the support chat (issue 27): the rating comment where they
look, and the report (item 6); the card's buttons and /close replies, the operator's words in
the model's history (item 12c)."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from bot.features.desk.domain import SupportHours
from bot.features.desk.domain.report import build_report, format_report, write_csv
from bot.storage.database import Database
from tests.features.desk.harness import OPERATOR, SUPPORT, DeskWorld, desk_world

pytestmark = pytest.mark.timeout(120)


async def hand_over(w: DeskWorld, user_id: int, text: str = "/operator") -> int:
    w.tg.send_user_message(user_id, text)
    thread = await w.wait_for(lambda: w.topic_of(user_id))
    await w.wait_for(lambda: w.in_topic(thread))  # the card
    return thread


@pytest.mark.slow
async def test_a_rating_comment_reaches_the_topic_the_report_and_the_csv(
    sqlite_database: Database, tmp_path: Path
) -> None:
    async with desk_world(sqlite_database) as w:
        user = 7001
        thread = await hand_over(w, user)
        rated, case = await w.close_for_rating(user, thread)
        w.tg.send_callback_query(user, rated.message_id, f"csat:{case}:2")
        await w.wait_for(lambda: "comment" in str(w.tg.chat(user).find(rated.message_id)
                                                 .reply_markup))  # type: ignore[union-attr]
        w.tg.send_callback_query(user, rated.message_id, f"csat:{case}:comment")
        await w.wait_for(lambda: any("one message" in t for t in w.texts(user)))
        w.tg.send_user_message(user, "Slow, and the refund is still missing")
        posted = await w.wait_for(lambda: [
            m for m in w.in_topic(thread) if "refund is still missing" in (m.text or "")
        ])
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


def buttons(w: DeskWorld, thread: int) -> list[str]:
    card = w.in_topic(thread)[0]
    markup = w.tg.chat(SUPPORT).find(card.message_id).reply_markup  # type: ignore[union-attr]
    return [b["text"] for row in (markup or {}).get("inline_keyboard", []) for b in row]


def notes(w: DeskWorld, thread: int | None = None) -> list[str]:
    return [m.text or "" for m in w.tg.chat(SUPPORT).bot_messages
            if thread is None or m.thread_id == thread]


@pytest.mark.slow
async def test_the_card_shows_the_buttons_that_apply_and_commands_always_answer(
    sqlite_database: Database,
) -> None:
    async with desk_world(sqlite_database) as w:
        w.tg.closed_topics_refuse_all = True  # the notes must go in before the topic closes
        user = 7101
        thread = await hand_over(w, user)
        assert buttons(w, thread) == ["✅ Close", "🤖 Back to bot", "⛔ Block"]
        w.tg.send_user_message(SUPPORT, "/block", user=OPERATOR, thread_id=thread)
        await w.wait_for(lambda: buttons(w, thread) == ["✅ Close", "🤖 Back to bot",
                                                        "♻️ Unblock"])
        w.tg.send_user_message(SUPPORT, "/unblock", user=OPERATOR, thread_id=thread)
        await w.wait_for(lambda: buttons(w, thread)[-1] == "⛔ Block")
        # /close in General is answered, not ignored.
        w.tg.send_user_message(SUPPORT, "/close", user=OPERATOR)
        await w.wait_for(lambda: any("works inside a user's topic" in n for n in notes(w)))
        w.tg.send_user_message(SUPPORT, "/close", user=OPERATOR, thread_id=thread)
        await w.wait_for(lambda: w.tg.topic(SUPPORT, thread).closed)
        # No Close/Back once closed; block stays possible.
        await w.wait_for(lambda: buttons(w, thread) == ["⛔ Block"])
        await w.wait_for(lambda: "✅ Closed." in notes(w, thread))
        # /close again in the closed topic gets a clear reply.
        before = len(notes(w, thread))
        w.tg.send_user_message(SUPPORT, "/close", user=OPERATOR, thread_id=thread)
        await w.wait_for(lambda: len(notes(w, thread)) > before)
        assert notes(w, thread)[-1].startswith("Nothing to close: this conversation is closed")


@pytest.mark.slow
async def test_after_bot_the_model_knows_what_the_person_said(sqlite_database: Database) -> None:
    async with desk_world(sqlite_database) as w:
        user = 7201
        w.tg.send_user_message(user, "My parcel 123 never arrived")
        await w.wait_for(lambda: w.texts(user))
        await w.settle()
        thread = await hand_over(w, user)
        w.tg.send_user_message(user, "Can I get my money back?")
        await w.wait_for(lambda: len(w.in_topic(thread)) == 2)
        w.tg.send_user_message(
            SUPPORT, "Yes: a refund of 500 rubles by Friday.", user=OPERATOR, thread_id=thread
        )
        await w.wait_for(lambda: "Yes: a refund of 500 rubles by Friday." in w.texts(user))
        w.tg.send_user_message(SUPPORT, "// internal: check the warehouse", user=OPERATOR,
                               thread_id=thread)
        w.tg.send_user_message(SUPPORT, "/bot", user=OPERATOR, thread_id=thread)
        await w.wait_for(lambda: any("handed the conversation back" in t for t in w.texts(user)))
        w.tg.send_user_message(user, "What did you promise me?")
        await w.wait_for(lambda: w.texts(user)[-1].startswith("Echo: What did you promise"))
        last = [r.json["messages"] for r in w.fm.requests if r.path.endswith("completion")][-1]
        said = [(m["role"], m["text"]) for m in last if m["role"] != "system"]
        assert ("user", "Can I get my money back?") in said
        assert ("assistant", "Yes: a refund of 500 rubles by Friday.") in said
        assert not any("internal" in text for _, text in said)  # a note stays in the topic
        assert said[-1] == ("user", "What did you promise me?")
        # Handed over again, the new card shows who said what.
        w.tg.send_user_message(user, "/operator")
        cards = await w.wait_for(lambda: [m for m in w.in_topic(thread)
                                          if (m.text or "").startswith("🆘")][1:])
        assert "🧑‍💼 Yes: a refund of 500 rubles by Friday." in (cards[0].text or "")
        assert "👤 Can I get my money back?" in (cards[0].text or "")


@pytest.mark.slow
async def test_close_says_so_on_the_card_first_and_the_topic_closes_before_the_note(
    sqlite_database: Database,
) -> None:
    async with desk_world(sqlite_database) as w:
        threads = [await hand_over(w, user) for user in (7151, 7152)]
        cards = {thread: w.in_topic(thread)[0].message_id for thread in threads}
        start = len(w.tg.calls)
        # Two cases closed in a row: the second /close is taken without waiting on the first
        # case's calls (the group's pace allows one message every 3 s).
        for thread in threads:
            w.tg.send_user_message(SUPPORT, "/close", user=OPERATOR, thread_id=thread)
        for thread in threads:
            await w.wait_for(lambda t=thread: "✅ Closed." in notes(w, t), 30)
        calls = [c for c in w.tg.calls[start:] if c.chat_id == SUPPORT and c.status == 200]
        for thread in threads:
            mine = [c for c in calls
                    if int(c.params.get("message_thread_id") or 0) == thread
                    or int(c.params.get("message_id") or 0) == cards[thread]]
            kinds = [c.method for c in mine]
            assert kinds == ["editMessageText", "closeForumTopic", "sendMessage"], kinds
            assert "Status: ✅ closed" in str(mine[0].params["text"])
            assert w.tg.topic(SUPPORT, thread).closed
        # Both cards said "closed" before either note went out.
        edits = [i for i, c in enumerate(calls) if c.method == "editMessageText"]
        sends = [i for i, c in enumerate(calls) if c.method == "sendMessage"]
        assert max(edits) < min(sends)
