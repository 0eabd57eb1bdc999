"""`fmbot check`'s models line: each configured model is listed by the folder or answers a
minimal probe; a model the API refuses as unknown, or an image model Yandex has retired, FAILs,
naming the setting to change."""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AsyncExitStack
from typing import TYPE_CHECKING

from bot.features.settings import Settings
from bot.plugin.outcome import Outcome, failed, passed

if TYPE_CHECKING:
    from bot.plugin.feature import Feature


async def check_models(settings: Settings, features: Sequence[Feature]) -> list[Outcome]:
    """The core's models and those of `features` (the bot's: fmbot's and its plugins')."""
    from bot.plugin.clients import build_auth_from, build_chat_model, build_client
    from bot.wiring.model_catalog import advice, refusal, review_models, summary

    name = "models"
    auth = build_auth_from(settings)
    async with AsyncExitStack() as stack:
        client = build_client(settings, auth)
        stack.push_async_callback(client.aclose)
        chat = build_chat_model(settings, client, auth, stack)
        findings, note = await review_models(
            settings, features, client, chat, auth)
    outcomes = [failed(name, refusal(f), advice(f))
                for f in findings if f.state in ("unknown", "retired")]
    return outcomes or [passed(name, summary(findings) + (f"; {note}" if note else ""))]
