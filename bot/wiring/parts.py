"""The parts the composition root builds from Settings: the toolbox and the tool loop, the
vision model, photos and voice notes, documents in chat, the knowledge base."""

from __future__ import annotations

import logging
import os
from collections.abc import Awaitable, Callable, Sequence
from contextlib import AsyncExitStack
from pathlib import Path
from typing import TYPE_CHECKING

import httpx

from bot.config import ConfigError, Settings
from bot.features.knowledge import KbMode
from bot.features.tools import Toolbox, ToolsFileError, ToolSource, load_toolbox, start_toolbox
from bot.features.tools.loop import ToolLoop
from bot.features.tools.signing import RequestSigner, SigningKeyError
from bot.features.tools.turns import ToolLoopSettings
from bot.features.vision.images import Vision
from bot.foundation_models.auth import Auth
from bot.foundation_models.client import FoundationModelsClient
from bot.foundation_models.types import ChatModel
from bot.storage.database import Database
from bot.wiring.clients import (
    build_speech,
    build_vision_model,
)

if TYPE_CHECKING:
    from aiogram import Bot
    from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

    from bot.features.documents.chat import ChatDocuments
    from bot.features.documents.support import DocumentSupport
    from bot.features.knowledge.base import KnowledgeBase
    from bot.features.knowledge.embedder import Embedder
    from bot.features.vision.images import ImageSource
    from bot.features.voice.longvoice import LongNotes
    from bot.telegram.downloads import TelegramFiles
    from bot.telegram.media import MediaSupport
    from bot.telegram.media.photos import PhotoPreparer


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
            observer=_tool_metrics,
        )
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
    settings: Settings,
    db: Database,
    chat_model: ChatModel,
    toolbox: Toolbox,
    *,
    desk_state: Callable[[int], Awaitable[str | None]] | None = None,
    on_superseded: Callable[[int, list[int]], None] | None = None,
) -> ToolLoop:
    """The tool loop (TOOLS_* settings); models not in TOOLS_MODELS answer without tools.
    `desk_state`: the state of a user's support conversation, for the tools to see;
    `on_superseded`: told which cards a new message took the buttons off."""
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
        desk_state=desk_state,
        on_superseded=on_superseded,
    )


def build_vision(
    settings: Settings,
    chat_model: ChatModel,
    auth: Auth,
    stack: AsyncExitStack,
    http: httpx.AsyncClient | None = None,
    fetch: ImageSource | None = None,
) -> Vision | None:
    """Photos: the vision model; `fetch` gets earlier images again (from Telegram)."""
    model = build_vision_model(settings, chat_model, auth, stack, http)
    return Vision(model, settings.vision_model, fetch=fetch) if model is not None else None


def telegram_files(settings: Settings, bot: Bot) -> TelegramFiles:
    """Downloads from Telegram (photos, voice notes, documents)."""
    from bot.telegram.downloads import TelegramFiles

    return TelegramFiles(bot, timeout=settings.media_download_timeout)


def build_photos(settings: Settings, files: TelegramFiles) -> PhotoPreparer | None:
    """Photos for the vision model (None without VISION_MODEL): its image source too."""
    if not settings.vision_model:
        return None
    from bot.telegram.media.photos import PhotoPreparer

    return PhotoPreparer(files, max_bytes=int(settings.max_image_mb * 1024 * 1024))


def build_media(
    settings: Settings,
    files: TelegramFiles,
    photos: PhotoPreparer | None,
    auth: Auth,
    stack: AsyncExitStack,
    sessionmaker: async_sessionmaker[AsyncSession],
    http: httpx.AsyncClient | None = None,
) -> MediaSupport:
    """Photos and voice notes: downloads from Telegram, the vision model's image
    source, SpeechKit (long notes through its asynchronous API)."""
    from bot.features.voice.hearing import VoiceNotes
    from bot.telegram.media import MediaSupport

    recognizer = build_speech(settings, auth, stack, http)
    voice = VoiceNotes(files, recognizer) if recognizer is not None else None
    return MediaSupport(
        photos=photos,
        voice=voice,
        max_image_mb=settings.max_image_mb,
        long_voice=build_long_voice(settings, files, auth, stack, sessionmaker, http)
        if voice is not None
        else None,
    )


def build_long_voice(
    settings: Settings,
    files: TelegramFiles,
    auth: Auth,
    stack: AsyncExitStack,
    sessionmaker: async_sessionmaker[AsyncSession],
    http: httpx.AsyncClient | None = None,
) -> LongNotes:
    """Voice notes over 30 s through SpeechKit's asynchronous API (with recognition on)."""
    from bot.features.voice.longvoice import LongNotes
    from bot.foundation_models.speech_async import AsyncSpeechRecognizer

    recognizer = AsyncSpeechRecognizer(
        base_url=settings.stt_url, operation_url=settings.yandex_operation_url, auth=auth,
        folder_id=settings.yandex_folder_id, http=http,
    )
    stack.push_async_callback(recognizer.aclose)
    return LongNotes(
        files=files, recognizer=recognizer, sessionmaker=sessionmaker,
        max_seconds=settings.max_voice_seconds, poll_interval=settings.stt_poll_interval,
    )


def build_documents(
    settings: Settings, files: TelegramFiles, stack: AsyncExitStack,
    chats: ChatDocuments | None,
) -> DocumentSupport | None:
    """Documents sent in chat: downloads from Telegram, read in bounded worker processes
    (started on the first document), kept per conversation."""
    from bot.features.documents.support import DocumentSupport
    from bot.features.knowledge.reading import DocumentReader

    if chats is None:
        return None
    reader = DocumentReader()
    stack.push_async_callback(reader.aclose)
    return DocumentSupport(files, reader, chats, max_mb=settings.max_document_mb)


def build_embedder(settings: Settings, client: FoundationModelsClient) -> Embedder:
    """The embedding models (EMBEDDING_*): the knowledge base's, content gaps', FAQ evals'."""
    from bot.features.knowledge.embedder import Embedder

    return Embedder(
        client,
        doc_model=settings.embedding_doc_model,
        query_model=settings.embedding_query_model,
        rps=settings.embedding_rps,
    )


def build_knowledge(
    settings: Settings, db: Database, client: FoundationModelsClient
) -> KnowledgeBase | None:
    """The knowledge base of KB_PATH, or None when KB_MODE is off (numpy is not even loaded)."""
    mode = KbMode(settings.kb_effective_mode)
    if mode is KbMode.OFF or settings.kb_backend == "yandex":  # Yandex keeps that one
        return None
    from bot.features.knowledge.base import KnowledgeBase

    return KnowledgeBase(
        sessionmaker=db.sessionmaker,
        embedder=build_embedder(settings, client),
        roots=settings.kb_path,
        mode=mode,
        top_k=settings.kb_top_k,
        min_score=settings.kb_min_score,
        read_sessionmaker=db.read_sessionmaker,
        search_sessionmaker=db.search_sessionmaker,
        removal_limit=settings.kb_removal_limit,
    )
