"""What the features add to `bot check`: their checks and their lines in the Telegram check,
which the command loops over and names no feature. (Their own commands are listed by cli.py,
their parts of `bot report` by reports.py, the secrets the logs must never show by
secrets.py.)"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from aiogram import Bot
    from aiogram.types import User

    from bot.cli.checks.outcome import Outcome
    from bot.features.settings import Settings


@dataclass(frozen=True, slots=True)
class FeatureCheck:
    """A feature's lines in `bot check`. `credentials`: it calls Yandex, so it runs once the
    credentials are known good (skipped, pointing at that check, when they are not); the
    others run beside the database's. `settings_only`: its line says what the settings ask
    for and calls nothing, so it is printed at once, with the configuration's."""

    name: str
    run: Callable[[], Awaitable[list[Outcome]]]
    credentials: bool = True
    settings_only: bool = False


def feature_checks(settings: Settings, environ: Mapping[str, str]) -> list[FeatureCheck]:
    """The checks of the features that are on, in order. `environ`: where TOOLS_FILE's
    secrets are read from (the process's environment)."""
    from bot.wiring.clients import build_auth_from, build_store_client

    checks: list[FeatureCheck] = []
    folder = settings.yandex_folder_id
    if settings.knowledge.backend == "yandex":
        from bot.features.knowledge.checks import check_vector_store

        async def vector_store() -> list[Outcome]:
            return [await check_vector_store(
                settings.knowledge.store_id, folder_id=folder,
                responses_url=settings.responses_url,
                client=lambda: build_store_client(settings, build_auth_from(settings)))]

        checks.append(FeatureCheck("vector store", vector_store))
    if settings.websearch.on and settings.text_api == "responses":
        from bot.features.websearch.checks import check_web_search

        async def web_search() -> list[Outcome]:
            return [check_web_search(settings.websearch)]

        checks.append(FeatureCheck("web search", web_search, credentials=False,
                                   settings_only=True))
    if settings.voice.speech:
        from bot.features.voice.checks import check_recognition

        async def recognition() -> list[Outcome]:
            return [await check_recognition(settings.voice, folder_id=folder,
                                            auth=lambda: build_auth_from(settings))]

        checks.append(FeatureCheck("speech recognition", recognition))
    if settings.voice.replies != "off":
        from bot.features.voice.checks import check_synthesis

        async def synthesis() -> list[Outcome]:
            return [await check_synthesis(settings.voice, folder_id=folder,
                                          auth=lambda: build_auth_from(settings))]

        checks.append(FeatureCheck("speech synthesis", synthesis))
    path = settings.tools.file
    if path is not None:
        from bot.features.tools.checks import check_tools

        checks.append(FeatureCheck("tools", lambda: check_tools(path, environ=environ),
                                   credentials=False))
    return checks


@dataclass(frozen=True, slots=True)
class TelegramLine:
    """A feature's line in the Telegram check, read once getMe has accepted the token: off
    what getMe told (`me`), or asked of Telegram with `bot`."""

    name: str
    read: Callable[[Bot, User], Awaitable[Outcome]]


def telegram_lines(settings: Settings, support_chat_id: int = 0) -> list[TelegramLine]:
    """The features' lines in the Telegram check, in order: guest queries and connected
    accounts (informational, whatever the settings), then the support chat's rights when
    `support_chat_id` is set."""
    from bot.features.business.checks import business_connections
    from bot.features.guest.checks import guest_queries

    guest_on, replies = settings.guest.on, settings.business.replies

    async def guest(bot: Bot, me: User) -> Outcome:
        return guest_queries(bool(me.supports_guest_queries), guest_on)

    async def business(bot: Bot, me: User) -> Outcome:
        return business_connections(bool(me.can_connect_to_business), replies)

    lines = [TelegramLine("guest mode", guest), TelegramLine("chat automation", business)]
    if support_chat_id:
        from bot.features.desk.checks import check_support_chat

        async def support_chat(bot: Bot, me: User) -> Outcome:
            return await check_support_chat(bot, me.id, support_chat_id)

        lines.append(TelegramLine("support chat", support_chat))
    return lines
