"""Everything else, on purpose: unknown commands, non-text content, edited messages that are
not the newest question.

Included last, so it only sees what no other router took.
"""

from __future__ import annotations

import logging

from aiogram import Bot, F, Router
from aiogram.types import CallbackQuery, Message

from bot.telegram.deps import Deps, say
from bot.telegram.handlers.chat import AddressedToBot, is_command
from bot.telegram.texts import Translator

log = logging.getLogger(__name__)

MEDIA = frozenset(
    {
        "photo",
        "sticker",
        "voice",
        "video",
        "video_note",
        "audio",
        "document",
        "animation",
        "location",
        "venue",
        "contact",
        "poll",
        "dice",
        "story",
        "paid_media",
        "checklist",
    }
)


async def _addressed_command(message: Message, bot: Bot) -> bool:
    """An unknown command for us: in groups "/x@otherbot" belongs to another bot."""
    if not is_command(message) or message.text is None:
        return False
    head = message.text.split(maxsplit=1)[0]
    _, _, mention = head.partition("@")
    if not mention:
        return message.chat.type == "private" or message.reply_to_message is not None
    me = await bot.me()
    return me.username is not None and mention.lower() == me.username.lower()


async def handle_unknown_command(message: Message, deps: Deps, t: Translator) -> None:
    command = (message.text or "").split(maxsplit=1)[0].partition("@")[0].lstrip("/").lower()
    # /operator is in the README and in other bots' habits: without a desk, say there is no
    # person to hand over to rather than "I don't know that command".
    text = t("no_desk") if command == "operator" else t("unknown_command")
    await say(deps, message, text)


async def handle_other_content(message: Message, deps: Deps, t: Translator) -> None:
    """Stickers, voice, photos, documents... in a private chat, or addressed to us in a group."""
    if message.content_type not in MEDIA:
        return  # service messages (members joining, pins...) are not addressed to anyone
    # A sticker is called a sticker (people send one on purpose, and "this kind of file"
    # reads as if the bot did not know); for the rest, when a feature takes something
    # (photos, voice notes, documents), say what is, not "text only".
    if message.content_type == "sticker":
        await say(deps, message, t("sticker"))
        return
    await say(deps, message, t("media_unsupported" if deps.takes else "text_only"))


async def handle_stale_button(query: CallbackQuery) -> None:
    """A button no handler knows (an old keyboard): stop the client's spinner, say nothing."""
    await query.answer()


async def handle_edited(message: Message) -> None:
    # An edit of the newest question is answered anew (chat.py); any other edit is left as
    # it is: the history keeps what was answered.
    log.info("edited message %s in chat %s ignored", message.message_id, message.chat.id)


def build_router() -> Router:
    router = Router(name=__name__)
    router.message.register(handle_unknown_command, F.text, _addressed_command)
    router.message.register(handle_other_content, ~F.text, AddressedToBot())
    router.callback_query.register(handle_stale_button)
    router.edited_message.register(handle_edited)
    return router
