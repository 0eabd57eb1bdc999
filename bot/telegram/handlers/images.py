"""`/image [W:H] [seed=N] <prompt>`: parse, then hand the job to ImageDelivery (background)."""

from __future__ import annotations

from aiogram import Router
from aiogram.filters import Command, CommandObject
from aiogram.types import Message

from bot.storage.repositories import UpdateReceipt
from bot.telegram.deps import Deps, thread_of
from bot.telegram.imageargs import ImageArgsError, parse_image_args
from bot.telegram.imagejobs import Place
from bot.telegram.texts import Translator


async def cmd_image(
    message: Message,
    command: CommandObject,
    deps: Deps,
    t: Translator,
    receipts: tuple[UpdateReceipt, ...] = (),
) -> None:
    place = Place(message.chat.id, reply_to=message.message_id, thread_id=thread_of(message))
    try:
        request = parse_image_args(command.args or "", deps.options.image_prompt_limit)
    except ImageArgsError as exc:
        await deps.notify(
            place.chat_id, exc.explain(t), reply_to=place.reply_to, thread_id=place.thread_id
        )
        return
    user_id = message.from_user.id if message.from_user else message.chat.id
    await deps.images.start(place, user_id, request, t, receipts)


def build_router() -> Router:
    router = Router(name=__name__)
    router.message.register(cmd_image, Command("image"), flags={"quota": "image"})
    return router
