"""`/image [W:H] [seed=N] <prompt>` on Telegram: the daily budget (DAILY_IMAGE_LIMIT), parse,
then hand the job to ImageDelivery (background); the feature's part on the front
(bot/telegram/featureparts.py): its router, its /help line, its /stats lines (its menu
entry is registered by its setup: feature.py)."""

from __future__ import annotations

from aiogram import Router
from aiogram.filters import Command, CommandObject
from aiogram.types import Message
from sqlalchemy.ext.asyncio import AsyncSession

from bot.features.images.args import ImageArgsError, parse_image_args
from bot.features.images.delivery import ImageDelivery, Place
from bot.features.images.service import ImageService
from bot.features.images.usage import images_of, images_total
from bot.plugin.models import IMAGE_PROMPT_LIMIT
from bot.plugin.storage import UpdateReceipt, utc_today
from bot.plugin.telegram import (
    Deps,
    FrontParts,
    Notifier,
    TelegramPart,
    Translator,
    thread_of,
)


class ImageCommand:
    """The /image command: its prompt at most `prompt_limit` characters, at most
    `daily_limit` pictures per user per day (0: no limit; admins have none)."""

    def __init__(
        self, delivery: ImageDelivery, notify: Notifier, prompt_limit: int, daily_limit: int = 0
    ) -> None:
        self.delivery = delivery
        self.notify = notify
        self.prompt_limit = prompt_limit
        self.daily_limit = daily_limit

    async def handle(
        self,
        message: Message,
        command: CommandObject,
        t: Translator,
        session: AsyncSession,
        deps: Deps,
        is_admin: bool = False,
        replayed: bool = False,
        receipts: tuple[UpdateReceipt, ...] = (),
    ) -> None:
        if await self._over_budget(message, session, deps, t, is_admin, replayed):
            return
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

    async def _over_budget(
        self, message: Message, session: AsyncSession, deps: Deps, t: Translator,
        is_admin: bool, replayed: bool,
    ) -> bool:
        """The sender has drawn today's `daily_limit` pictures: told so (in a group, to them
        alone), and nothing is drawn. An update replayed after a restart was admitted
        before it: counting it again could refuse it."""
        user = message.from_user
        if not self.daily_limit or is_admin or replayed or user is None:
            return False
        used = await images_of(session, user.id, utc_today())
        await session.commit()  # never hold the database while talking to Telegram
        if used < self.daily_limit:
            return False
        text = t("image_budget", limit=self.daily_limit)
        thread = thread_of(message)
        if deps.notices is None:
            await self.notify(message.chat.id, text, reply_to=message.message_id,
                              thread_id=thread)
        else:
            await deps.notices.tell(message.chat.id, message.chat.type, user.id, text,
                                    reply_to=message.message_id, thread_id=thread)
        return True

    def build_router(self) -> Router:
        router = Router(name=__name__)
        # The core's rate limit applies (QuotaMiddleware); the handler checks the budget.
        router.message.register(self.handle, Command("image"))
        return router


class ImageLines:
    """What /help and /stats say of /image: its usage, the pictures the user drew today of
    the daily limit, and for admins everyone's."""

    def __init__(self, daily_limit: int = 0) -> None:
        self.daily_limit = daily_limit

    def help_line(self, t: Translator) -> str:
        return t("help_image")

    async def stats_line(self, session: AsyncSession, user_id: int, t: Translator) -> str:
        images = await images_of(session, user_id, utc_today())
        return t("stats_images", images=images, limit=self.daily_limit or t("unlimited"))

    async def admin_line(self, session: AsyncSession, t: Translator) -> str:
        images = await images_total(session, utc_today())
        return t("stats_images_admin", images=images)


def images_on_telegram(
    front: FrontParts,
    service: ImageService, *, daily_limit: int = 0, prompt_limit: int = IMAGE_PROMPT_LIMIT,
    status_interval: float = 3.0,
) -> TelegramPart:
    """/image and the delivery of its jobs: at most `daily_limit` pictures per user per day
    (DAILY_IMAGE_LIMIT; 0: no limit), a status message every `status_interval` seconds until
    the picture is sent; jobs left running resume at the next start."""

    delivery = ImageDelivery(
        service=service, outbox=front.outbox, sessionmaker=front.sessionmaker,
        status_interval=status_interval, coordinator=front.coordinator, owner=front.owner,
    )
    command = ImageCommand(delivery, front.notify, prompt_limit, daily_limit)
    return TelegramPart(early=[command.build_router()], services=[delivery],
                        lines=ImageLines(daily_limit))
