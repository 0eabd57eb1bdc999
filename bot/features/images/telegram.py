"""`/image [W:H] [seed=N] <prompt>` on Telegram: parse, then hand the job to ImageDelivery
(background); the feature's part on the front (bot/telegram/featureparts.py)."""

from __future__ import annotations

from aiogram import Router
from aiogram.filters import Command, CommandObject
from aiogram.types import Message

from bot.features.images.args import ImageArgsError, parse_image_args
from bot.features.images.delivery import ImageDelivery, Place
from bot.features.images.service import ImageService
from bot.foundation_models.requests import IMAGE_PROMPT_LIMIT
from bot.storage.repositories import UpdateReceipt
from bot.telegram.deps import thread_of
from bot.telegram.featureparts import FrontParts, TelegramFeature, TelegramPart
from bot.telegram.notifier import Notifier
from bot.telegram.texts import Translator


class ImageCommand:
    """The /image command: its prompt at most `prompt_limit` characters."""

    def __init__(self, delivery: ImageDelivery, notify: Notifier, prompt_limit: int) -> None:
        self.delivery = delivery
        self.notify = notify
        self.prompt_limit = prompt_limit

    async def handle(
        self,
        message: Message,
        command: CommandObject,
        t: Translator,
        receipts: tuple[UpdateReceipt, ...] = (),
    ) -> None:
        place = Place(message.chat.id, reply_to=message.message_id,
                      thread_id=thread_of(message))
        try:
            request = parse_image_args(command.args or "", self.prompt_limit)
        except ImageArgsError as exc:
            await self.notify(
                place.chat_id, exc.explain(t), reply_to=place.reply_to, thread_id=place.thread_id
            )
            return
        user_id = message.from_user.id if message.from_user else message.chat.id
        await self.delivery.start(place, user_id, request, t, receipts)

    def build_router(self) -> Router:
        router = Router(name=__name__)
        # "quota": the daily image limit (DAILY_IMAGE_LIMIT) is checked before the handler.
        router.message.register(self.handle, Command("image"), flags={"quota": "image"})
        return router


def images_on_telegram(
    service: ImageService, *, prompt_limit: int = IMAGE_PROMPT_LIMIT,
    status_interval: float = 3.0,
) -> TelegramFeature:
    """/image and the delivery of its jobs: a status message every `status_interval`
    seconds until the picture is sent; jobs left running resume at the next start."""

    def build(front: FrontParts) -> TelegramPart:
        delivery = ImageDelivery(
            service=service, outbox=front.outbox, sessionmaker=front.sessionmaker,
            status_interval=status_interval, coordinator=front.coordinator, owner=front.owner,
        )
        command = ImageCommand(delivery, front.notify, prompt_limit)
        return TelegramPart(early=[command.build_router()], services=[delivery])

    return build
