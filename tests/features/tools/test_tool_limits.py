"""Per-user tool limits through the real Dispatcher: the call past TOOLS_CALLS_PER_USER_HOUR
(or a write past TOOLS_WRITES_PER_USER_DAY) is not made, the model is told "limit reached" and
the user gets one line in their language; admins are exempt; two processes on one database
count together."""

from __future__ import annotations

import itertools

from bot.storage.database import Database
from tests.features.tools.test_tool_confirmation import TICKET, cards, tools_app
from tests.features.tools.tool_doubles import ShopSource
from tests.telegram.harness import ANNA, BORIS

LOOKUP = [{"name": "order_status", "arguments": {"order_id": "A-1"}}]


async def test_the_call_past_the_hourly_limit_is_not_made(sqlite_database: Database) -> None:
    source = ShopSource()
    async with tools_app(sqlite_database, source, calls_per_user_hour=2) as h:
        for n in range(3):
            h.fm.queue_reply("", tool_calls=LOOKUP)  # then the fake answers "Result: ..."
            await h.send(f"where is my order A-1? ({n})")
            await h.settle()
        assert [c.name for c in source.calls] == ["order_status", "order_status"]
        texts = h.texts(ANNA.id)
        assert texts[-2].startswith("Result: [data returned by the tool order_status]\n"
                                    "error: limit reached: this user may make 2 tool calls an "
                                    "hour; the call was not made.")
        assert texts[-1] == ("You have reached the limit of 2 actions an hour: please try "
                             "again later.")
        # Another user has a budget of their own; in Russian.
        h.fm.queue_reply("", tool_calls=LOOKUP)
        await h.send("где заказ A-1?", who=BORIS)
        await h.settle()
        assert len(source.calls) == 3


async def test_a_write_past_the_daily_limit_is_refused_after_the_press(
    sqlite_database: Database,
) -> None:
    source = ShopSource()
    async with tools_app(sqlite_database, source, writes_per_user_day=1) as h:
        for n in range(2):
            h.fm.queue_reply("", tool_calls=TICKET)
            await h.send(f"откройте обращение {n}", who=BORIS)
            await h.settle()
            card = cards(h)[-1]
            assert card.reply_markup is not None
            confirm = card.reply_markup.inline_keyboard[0][0].callback_data
            assert confirm is not None
            from tests.features.tools.test_tool_confirmation import card_message

            await h.press(confirm, BORIS, on=card_message(h, card))
            await h.settle()
        assert [c.name for c in source.calls] == ["open_ticket"]
        assert h.texts(BORIS.id)[-1] == ("Вы достигли предела в 1 изменение в сутки: "
                                         "попробуйте завтра.")


async def test_admins_are_exempt(sqlite_database: Database) -> None:
    source = ShopSource()
    async with tools_app(sqlite_database, source, calls_per_user_hour=1,
                         admins=frozenset({ANNA.id})) as h:
        for n in range(3):
            h.fm.queue_reply("", tool_calls=LOOKUP)
            await h.send(f"where is my order? ({n})")
            await h.settle()
        assert len(source.calls) == 3
        assert not any("limit" in text for text in h.texts(ANNA.id))


async def test_two_processes_on_one_database_count_together(sqlite_database: Database) -> None:
    """The count is the database's, not a process's: a second app with its own engine on the
    same file refuses the call past the limit the first app's calls reached."""
    first = ShopSource()
    async with tools_app(sqlite_database, first, calls_per_user_hour=2) as h:
        for n in range(2):
            h.fm.queue_reply("", tool_calls=LOOKUP)
            await h.send(f"order? ({n})")
            await h.settle()
    assert len(first.calls) == 2
    other = Database(sqlite_database.url)
    second = ShopSource()
    try:
        async with tools_app(other, second, calls_per_user_hour=2) as h:
            # The first app's update ids are stored: this Telegram goes on after them.
            h._update_ids = itertools.count(1000)
            h._message_ids = itertools.count(1000)
            h.fm.queue_reply("", tool_calls=LOOKUP)
            await h.send("order? (2)")
            await h.settle()
            assert second.calls == []
            assert h.texts(ANNA.id)[-1].startswith("You have reached the limit of 2 actions")
    finally:
        await other.dispose()
