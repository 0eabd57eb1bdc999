"""`fmbot chat`: chat with the model in this terminal (terminal.py), on the bot's own core."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path
from typing import TYPE_CHECKING

from bot.cli.factory import Factory
from bot.plugin.commands import Command, Subcommands

if TYPE_CHECKING:
    import httpx

log = logging.getLogger("bot")


def add_chat_options(parser: argparse.ArgumentParser) -> None:
    """The terminal chat's options (`chat` and `record` take the same)."""
    parser.add_argument(
        "--chat-id",
        type=int,
        default=0,
        help="conversation to continue (default 0: the terminal's own)",
    )
    parser.add_argument("--model", default=None, help="model to use instead of TEXT_MODEL")
    parser.add_argument(
        "--log-file", type=Path, default=None,
        help="write the log (at LOG_LEVEL) to this file; without it only warnings and errors "
        "are shown, so that log lines do not break into answers",
    )
    parser.add_argument(
        "--history", type=Path, default=Path("~/.fmbot_history"),
        help="file keeping the lines you typed, for the arrow keys (default ~/.fmbot_history)",
    )


def add_parser(commands: Subcommands) -> list[argparse.ArgumentParser]:
    chat = commands.add_parser("chat", help="chat with the model in this terminal")
    add_chat_options(chat)
    return [chat]


async def run(factory: Factory, args: argparse.Namespace) -> int:
    await run_terminal_chat(
        factory, chat_id=args.chat_id, model=args.model, history=args.history.expanduser()
    )
    return 0


async def run_terminal_chat(
    factory: Factory,
    *,
    chat_id: int,
    model: str | None,
    history: Path | None = None,
    http: httpx.AsyncClient | None = None,
) -> None:
    """The terminal chat; `http`: the models' HTTP client (`record`'s recording one)."""
    from bot.cli.terminal import Confirmations, TerminalChat
    from bot.storage.models import UserRole
    from bot.storage.repositories import UserRepository
    from bot.telegram.access import AccessPolicy
    from bot.wiring.yandex_access import YandexAccess

    settings = factory.settings
    async with factory.core(http=http) as c:
        # A refused key, folder or model stops here, before the first question (exit 2).
        await YandexAccess(settings, c.client, c.chat_model).verify()
        if model is not None and model not in settings.text_models:
            log.warning(
                "model %s is not in TEXT_MODEL/ALLOWED_TEXT_MODELS; using it anyway", model
            )
        # The terminal speaks as `chat_id`'s user: an admin by the bot's one rule
        # (ADMIN_USER_IDS or the stored admin role), as in Telegram.
        async with c.db.sessionmaker() as session:
            row = await UserRepository(session).get(chat_id)
            await session.commit()
        admin = AccessPolicy.build(admins=settings.admin_user_ids).is_admin(
            chat_id, stored_admin=row is not None and row.role == UserRole.ADMIN)
        chat = TerminalChat(
            c.conversation, c.db.sessionmaker, chat_id=chat_id, model=model, history=history,
            tools=c.built.find(Confirmations),  # type: ignore[type-abstract]
            is_admin=admin,
        )
        await chat.run()


command = Command("chat", add_parser, run)
