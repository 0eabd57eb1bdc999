"""The knowledge base built from Settings: the local index of KB_PATH (with the embedding
models) and its background sync, or with KB_BACKEND=yandex the Vector Store's sync."""

from __future__ import annotations

from contextlib import AsyncExitStack
from typing import TYPE_CHECKING

from bot.config import Settings
from bot.features.knowledge import KbMode
from bot.foundation_models.client import FoundationModelsClient
from bot.storage.database import Database

if TYPE_CHECKING:
    from bot.features.knowledge.base import KnowledgeBase
    from bot.features.knowledge.embedder import Embedder
    from bot.features.knowledge.store_sync import StoreSync
    from bot.foundation_models.auth import Auth
    from bot.foundation_models.vector_stores import VectorStoreClient


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


async def start_knowledge(
    settings: Settings, db: Database, client: FoundationModelsClient, stack: AsyncExitStack,
    *, background: bool,
) -> KnowledgeBase | None:
    """The knowledge base loaded; `background`: synced at start and every KB_SYNC_INTERVAL
    (stopped with the stack)."""
    knowledge = build_knowledge(settings, db, client)
    if knowledge is not None:
        await knowledge.load()
        if background:
            from bot.features.knowledge.background import BackgroundSync

            syncer = BackgroundSync(knowledge, interval=settings.kb_sync_interval)
            syncer.start()
            stack.push_async_callback(syncer.stop)
    return knowledge


def build_store_sync(settings: Settings, db: Database, client: VectorStoreClient) -> StoreSync:
    """KB_PATH's files kept in the Yandex Vector Store (KB_BACKEND=yandex)."""
    from bot.features.knowledge.store_sync import StoreSync

    return StoreSync(sessionmaker=db.sessionmaker, client=client, roots=settings.kb_path,
                     store_id=settings.kb_vector_store_id,
                     store_days=settings.kb_vector_store_days,
                     removal_limit=settings.kb_removal_limit)


async def start_store_sync(
    settings: Settings, db: Database, auth: Auth, stack: AsyncExitStack
) -> None:
    """KB_BACKEND=yandex in `run`: the store synced at start and every KB_SYNC_INTERVAL, like
    the local index (stopped, then its client closed, with the stack)."""
    from bot.features.knowledge.background import BackgroundSync
    from bot.wiring.clients import build_store_client

    client = build_store_client(settings, auth)
    stack.push_async_callback(client.aclose)
    syncer = BackgroundSync(build_store_sync(settings, db, client),
                            interval=settings.kb_sync_interval)
    syncer.start()
    stack.push_async_callback(syncer.stop)
