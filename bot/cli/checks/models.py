"""`fmbot check`'s models line: each configured model is listed by the folder or answers a
minimal probe; a model the API refuses as unknown, or an image model Yandex has retired, FAILs,
naming the setting to change."""

from __future__ import annotations

from contextlib import AsyncExitStack

from bot.features.api.outcome import Outcome, failed, passed
from bot.features.settings import Settings


async def check_models(settings: Settings) -> list[Outcome]:
    from bot.features.api.clients import build_auth_from, build_chat_model, build_client
    from bot.wiring.model_catalog import advice, refusal, review_models, summary

    name = "models"
    auth = build_auth_from(settings)
    async with AsyncExitStack() as stack:
        client = build_client(settings, auth)
        stack.push_async_callback(client.aclose)
        chat = build_chat_model(settings, client, auth, stack)
        findings, note = await review_models(settings, client, chat, auth)
    outcomes = [failed(name, refusal(f), advice(f))
                for f in findings if f.state in ("unknown", "retired")]
    return outcomes or [passed(name, summary(findings) + (f"; {note}" if note else ""))]
