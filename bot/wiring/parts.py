"""The parts the composition root builds from Settings: the toolbox and the tool loop, the
vision model, photos and voice notes, documents in chat, the knowledge base."""

from __future__ import annotations

import dataclasses
import logging
import os
from collections.abc import Sequence
from contextlib import AsyncExitStack
from pathlib import Path
from typing import TYPE_CHECKING

import httpx

from bot.clients import (
    build_speech,
    build_vision_model,
)
from bot.config import ConfigError, Settings
from bot.conversation.tool_turns import ToolLoopSettings
from bot.conversation.tools_loop import ToolLoop
from bot.conversation.vision import Vision
from bot.foundation_models.auth import Auth
from bot.foundation_models.client import FoundationModelsClient
from bot.foundation_models.types import ChatModel
from bot.knowledge import KbMode
from bot.storage.database import Database
from bot.tools import Toolbox, ToolsFileError, ToolSource, load_toolbox, start_toolbox
from bot.tools.signing import RequestSigner, SigningKeyError

if TYPE_CHECKING:
    from aiogram import Bot

    from bot.knowledge.base import KnowledgeBase
    from bot.telegram.chatdocs import DocumentSupport
    from bot.telegram.media import MediaSupport
    from bot.wiring.core import Core



log = logging.getLogger("bot")


def tool_environment(env_file: Path = Path(".env")) -> dict[str, str]:
    """Where TOOLS_FILE's `${VAR}` come from: the environment, over `.env` (as for Settings)."""
    from dotenv import dotenv_values

    values = {k: v for k, v in dotenv_values(env_file).items() if v is not None}
    values.update(os.environ)
    return values


def build_toolbox(settings: Settings, extra_sources: Sequence[ToolSource] = ()) -> Toolbox:
    """TOOLS_FILE's HTTP actions and MCP servers (not yet connected), and `extra_sources`
    (Python function tools); a bad file is one ConfigError line."""
    secret = settings.tools_signing_secret
    try:
        signer = None
        if secret is not None:
            signer = RequestSigner.with_secret(secret.get_secret_value(),
                                               settings.tools_signing_key_id)
        elif settings.tools_signing_key is not None:
            signer = RequestSigner.with_key_file(settings.tools_signing_key,
                                                 settings.tools_signing_key_id)
        toolbox = load_toolbox(
            settings.tools_file,
            environ=tool_environment(),
            signer=signer,
            extra_sources=extra_sources,
        )
        toolbox.observer = _tool_metrics
        return toolbox
    except (ToolsFileError, SigningKeyError) as exc:
        raise ConfigError(str(exc)) from None


def _tool_metrics(name: str, outcome: str, seconds: float) -> None:
    from bot.metrics import registry as metrics

    metrics.tool_call(name, outcome, seconds)


async def start_toolbox_of(toolbox: Toolbox) -> None:
    """Connect the MCP servers (one unreachable is retried in the background)."""
    try:
        await start_toolbox(toolbox)
    except ToolsFileError as exc:
        raise ConfigError(str(exc)) from None


def build_tool_loop(
    settings: Settings, db: Database, chat_model: ChatModel, toolbox: Toolbox
) -> ToolLoop:
    """The tool loop (TOOLS_* settings); models not in TOOLS_MODELS answer without tools."""
    return ToolLoop(
        toolbox=toolbox,
        settings=ToolLoopSettings(
            max_rounds=settings.tools_max_rounds,
            confirm_ttl=settings.tools_confirm_ttl,
            result_chars=settings.tools_result_chars,
            parallel=settings.tools_parallel,
            models=frozenset(settings.tools_models),
            admins=frozenset(settings.admin_user_ids),
            daily_tokens=settings.daily_token_limit,
            calls_per_user_hour=settings.tools_calls_per_user_hour,
            writes_per_user_day=settings.tools_writes_per_user_day,
        ),
        sessionmaker=db.sessionmaker,
        model=chat_model,
    )


def build_vision(
    settings: Settings, chat_model: ChatModel, auth: Auth, stack: AsyncExitStack,
    http: httpx.AsyncClient | None = None,
) -> Vision | None:
    """Photos: the vision model; images are fetched again once Telegram is up."""
    model = build_vision_model(settings, chat_model, auth, stack, http)
    return Vision(model, settings.vision_model) if model is not None else None


def build_media(
    settings: Settings, c: Core, bot: Bot, stack: AsyncExitStack
) -> MediaSupport:
    """Photos and voice notes: downloads from Telegram, the vision model's image
    source, SpeechKit."""
    from bot.telegram.downloads import TelegramFiles
    from bot.telegram.media import MediaSupport
    from bot.telegram.media.photos import PhotoPreparer
    from bot.telegram.media.voice import VoiceNotes

    files = TelegramFiles(bot, timeout=settings.media_download_timeout)
    media = MediaSupport(max_image_mb=settings.max_image_mb)
    vision = c.conversation.vision
    if vision is not None:
        media.photos = PhotoPreparer(files, max_bytes=int(settings.max_image_mb * 1024 * 1024))
        c.conversation.vision = dataclasses.replace(vision, fetch=media.photos.fetch)
    assert c.auth is not None
    recognizer = build_speech(settings, c.auth, stack, c.http)
    if recognizer is not None:
        media.voice = VoiceNotes(files, recognizer)
    return media


def build_documents(settings: Settings, c: Core, bot: Bot) -> DocumentSupport:
    """Documents sent in chat: downloads from Telegram, kept per conversation."""
    from bot.conversation.documents import ChatDocuments
    from bot.telegram.chatdocs import DocumentSupport
    from bot.telegram.downloads import TelegramFiles

    c.conversation.documents = ChatDocuments(c.db.sessionmaker)
    files = TelegramFiles(bot, timeout=settings.media_download_timeout)
    return DocumentSupport(files, max_mb=settings.max_document_mb)


def build_knowledge(
    settings: Settings, db: Database, client: FoundationModelsClient
) -> KnowledgeBase | None:
    """The knowledge base of KB_PATH, or None when KB_MODE is off (numpy is not even loaded)."""
    mode = KbMode(settings.kb_effective_mode)
    if mode is KbMode.OFF or settings.kb_backend == "yandex":  # Yandex keeps that one
        return None
    from bot.knowledge.base import KnowledgeBase
    from bot.knowledge.embedder import Embedder

    embedder = Embedder(
        client,
        doc_model=settings.embedding_doc_model,
        query_model=settings.embedding_query_model,
        rps=settings.embedding_rps,
    )
    return KnowledgeBase(
        sessionmaker=db.sessionmaker,
        embedder=embedder,
        roots=settings.kb_path,
        mode=mode,
        top_k=settings.kb_top_k,
        min_score=settings.kb_min_score,
        read_sessionmaker=db.read_sessionmaker,
        search_sessionmaker=db.search_sessionmaker,
        removal_limit=settings.kb_removal_limit,
    )
