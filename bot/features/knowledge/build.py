"""The knowledge base built from its settings (`settings.knowledge`): the local index of
KB_PATH (embedded by the bot's embedder) and its background sync, or with KB_BACKEND=yandex the
Vector Store's sync."""

from __future__ import annotations

from contextlib import AsyncExitStack
from typing import TYPE_CHECKING

from bot.features.knowledge import KbMode
from bot.features.knowledge.settings import KnowledgeSettings
from bot.plugin.storage import Database

if TYPE_CHECKING:
    from bot.features.knowledge.base import KnowledgeBase
    from bot.features.knowledge.store_sync import StoreSync
    from bot.plugin.models import Embedder, VectorStoreClient


def build_knowledge(
    area: KnowledgeSettings, db: Database, embedder: Embedder
) -> KnowledgeBase | None:
    """The knowledge base of KB_PATH, embedded by `embedder` (the bot's one: EMBEDDING_*), or
    None when KB_MODE is off (numpy is not even loaded)."""
    mode = KbMode(area.mode)
    if mode is KbMode.OFF or area.backend == "yandex":  # Yandex keeps that one
        return None
    from bot.features.knowledge.base import KnowledgeBase

    return KnowledgeBase(
        sessionmaker=db.sessionmaker,
        embedder=embedder,
        roots=list(area.paths),
        mode=mode,
        top_k=area.top_k,
        min_score=area.min_score,
        read_sessionmaker=db.read_sessionmaker,
        search_sessionmaker=db.search_sessionmaker,
        removal_limit=area.removal_limit,
    )


async def start_knowledge(
    area: KnowledgeSettings, db: Database, embedder: Embedder, stack: AsyncExitStack,
    *, background: bool,
) -> KnowledgeBase | None:
    """The knowledge base loaded; `background`: synced at start and every KB_SYNC_INTERVAL
    (stopped with the stack)."""
    knowledge = build_knowledge(area, db, embedder)
    if knowledge is not None:
        await knowledge.load()
        if background:
            from bot.features.knowledge.background import BackgroundSync

            syncer = BackgroundSync(knowledge, interval=area.sync_interval)
            syncer.start()
            stack.push_async_callback(syncer.stop)
    return knowledge


def build_store_sync(
    area: KnowledgeSettings, db: Database, client: VectorStoreClient
) -> StoreSync:
    """KB_PATH's files kept in the Yandex Vector Store (KB_BACKEND=yandex)."""
    from bot.features.knowledge.store_sync import StoreSync

    return StoreSync(sessionmaker=db.sessionmaker, client=client, roots=list(area.paths),
                     store_id=area.store_id, store_days=area.store_days,
                     removal_limit=area.removal_limit)


async def start_store_sync(
    area: KnowledgeSettings, db: Database, client: VectorStoreClient, stack: AsyncExitStack
) -> None:
    """KB_BACKEND=yandex in `run`: the store synced at start and every KB_SYNC_INTERVAL, like
    the local index (stopped, then its `client` closed, with the stack)."""
    from bot.features.knowledge.background import BackgroundSync

    stack.push_async_callback(client.aclose)
    syncer = BackgroundSync(build_store_sync(area, db, client), interval=area.sync_interval)
    syncer.start()
    stack.push_async_callback(syncer.stop)
