"""The fake Bot API's rich messages (bot/testing/telegram/rich.py), driven by a real aiogram Bot:
what sendRichMessage, sendRichMessageDraft and editMessageText with rich_message answer parses
as aiogram's `Message` with a `RichMessage` (a table block of cells, a heading, math, nested
lists, links), the limits, "not modified", and the `refuse_rich` switch."""

from __future__ import annotations

import pytest
from aiogram import Bot
from aiogram.exceptions import TelegramBadRequest
from aiogram.methods import SendRichMessage, SendRichMessageDraft
from aiogram.types import InputRichMessage, RichBlockTable

from bot.testing.telegram.rich import REFUSED, table_of, urls_of
from tests.fakes.telegram.server import TelegramServer

MARKDOWN = (
    "# Plans\n\n| Plan | Price |\n|:--|--:|\n| **Basic** | 5 |\n| Pro | 10 |\n\n"
    "- one\n  - one.a\n\n$$x^2$$\n\nSee [the site](https://example.com/p).\n\n```py\nx = 1\n```"
    "\n\n> quoted\n\n1. first\n2. second\n\n---"
)


async def test_a_rich_message_is_sent_shown_as_blocks_and_edited(
    tg: TelegramServer, bot: Bot
) -> None:
    tg.add_chat(9, "private")
    sent = await bot(SendRichMessage(chat_id=9, rich_message=InputRichMessage(
        markdown=MARKDOWN)))
    assert sent.rich_message is not None  # aiogram parsed the fake's RichMessage
    types = [block.type for block in sent.rich_message.blocks]
    assert types == ["heading", "table", "list", "mathematical_expression", "paragraph", "pre",
                     "blockquote", "list", "divider"]
    table = sent.rich_message.blocks[1]
    assert isinstance(table, RichBlockTable)
    assert [cell.align for cell in table.cells[0]] == ["left", "right"]
    assert table.cells[0][0].is_header
    shown = tg.chat(9).bot_messages[-1]
    assert table_of(shown.rich) == [["Plan", "Price"], ["Basic", "5"], ["Pro", "10"]]
    assert urls_of(shown.rich) == ["https://example.com/p"]

    edited = await bot.edit_message_text(chat_id=9, message_id=sent.message_id,
                                         rich_message=InputRichMessage(markdown="## Done"))
    assert not isinstance(edited, bool)
    assert edited.rich_message is not None
    assert [b.type for b in edited.rich_message.blocks] == ["heading"]
    with pytest.raises(TelegramBadRequest, match="not modified"):
        await bot.edit_message_text(chat_id=9, message_id=sent.message_id,
                                    rich_message=InputRichMessage(markdown="## Done"))

    assert await bot(SendRichMessageDraft(chat_id=9, draft_id=3, rich_message=InputRichMessage(
        markdown="| a |\n|---|\n| 1 |"))) is True
    assert table_of(tg.chat(9).drafts[-1].rich) == [["a"], ["1"]]


async def test_rich_messages_are_checked_and_can_be_refused(tg: TelegramServer, bot: Bot) -> None:
    tg.add_chat(9, "private")
    tg.add_chat(-100, "supergroup")
    wide = "| " + " | ".join("c" * 21) + " |\n|" + "---|" * 21
    with pytest.raises(TelegramBadRequest, match="TABLE_TOO_WIDE"):
        await bot(SendRichMessage(chat_id=9, rich_message=InputRichMessage(markdown=wide)))
    with pytest.raises(TelegramBadRequest, match="TOO_LONG"):
        await bot(SendRichMessage(chat_id=9, rich_message=InputRichMessage(
            markdown="x" * 32_769)))
    with pytest.raises(TelegramBadRequest, match="exactly one"):
        await bot(SendRichMessage(chat_id=9, rich_message=InputRichMessage(
            markdown="# a", html="<b>a</b>")))
    with pytest.raises(TelegramBadRequest, match="TEXTDRAFT_PEER_INVALID"):
        await bot(SendRichMessageDraft(chat_id=-100, draft_id=1,
                                       rich_message=InputRichMessage(markdown="# a")))
    tg.refuse_rich = True
    with pytest.raises(TelegramBadRequest, match=REFUSED):
        await bot(SendRichMessage(chat_id=9, rich_message=InputRichMessage(markdown="# a")))
