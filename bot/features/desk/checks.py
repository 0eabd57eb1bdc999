"""`bot check` for the support desk: the bot's rights in the support chat and its topics."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.plugin.outcome import Outcome, failed, passed

if TYPE_CHECKING:
    from aiogram import Bot


async def check_support_chat(bot: Bot, bot_id: int, chat_id: int) -> Outcome:
    """The bot's rights in SUPPORT_CHAT_ID (getChatMember), then whether it is a forum."""
    from aiogram.exceptions import TelegramAPIError
    from aiogram.types import ChatMemberAdministrator, ChatMemberOwner

    name = "support chat"
    promote = (
        f"in the support group open Administrators, add @{(await bot.me()).username} and "
        "allow it to Manage topics"
    )
    try:
        member = await bot.get_chat_member(chat_id, bot_id)
    except TelegramAPIError as exc:
        return failed(name, f"getChatMember in {chat_id} failed: {exc}",
                      "check SUPPORT_CHAT_ID (a supergroup id such as -1001234567890) and "
                      "add the bot to that group")
    if isinstance(member, ChatMemberOwner):
        pass
    elif not isinstance(member, ChatMemberAdministrator):
        return failed(name, f"the bot is {member.status!r} in chat {chat_id}, not an "
                      "administrator", promote)
    elif not member.can_manage_topics:
        return failed(name, f"the bot is an administrator of {chat_id} without the right to "
                      "manage topics", promote)
    return await _check_forum(bot, chat_id)


async def _check_forum(bot: Bot, chat_id: int) -> Outcome:
    """Each handed-over user gets a topic (createForumTopic), which only a forum has: in a
    plain supergroup every handoff would fail with "the chat is not a forum"."""
    from aiogram.exceptions import TelegramAPIError

    name = "support chat"
    try:
        chat = await bot.get_chat(chat_id)
    except TelegramAPIError as exc:
        return failed(name, f"getChat {chat_id} failed: {exc}",
                      "check SUPPORT_CHAT_ID and add the bot to that group")
    if not chat.is_forum:
        return failed(name, f"chat {chat_id} ({chat.title or chat.type}) has no Topics: the "
                      "desk opens one topic per user and cannot hand anyone over",
                      "in the group's settings turn Topics on (the group becomes a forum)")
    return passed(name, f"the bot may manage topics in the forum {chat_id}")
