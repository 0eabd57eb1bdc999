"""The Responses API's built-in tools from Settings: web and file search for the conversation
service, the Vector Store client and its sync (KB_BACKEND=yandex). Part of the composition
root: what is built receives plain values."""

from __future__ import annotations

from contextlib import AsyncExitStack

from bot.config import Settings
from bot.features.knowledge.store_sync import StoreSync
from bot.features.websearch.hosted import HostedSearch, web_search_tool
from bot.foundation_models.auth import Auth
from bot.foundation_models.transport import Timeouts
from bot.foundation_models.vector_stores import VectorStoreClient
from bot.storage.database import Database
from bot.storage.models import utc_today


def build_store_client(settings: Settings, auth: Auth) -> VectorStoreClient:
    """Files and Vector Stores live beside the Responses API (YANDEX_RESPONSES_URL)."""
    return VectorStoreClient(base_url=settings.responses_url, auth=auth,
                             folder_id=settings.yandex_folder_id,
                             timeouts=Timeouts(idle=settings.yandex_idle_timeout))


def build_store_sync(settings: Settings, db: Database, client: VectorStoreClient) -> StoreSync:
    return StoreSync(sessionmaker=db.sessionmaker, client=client, roots=settings.kb_path,
                     store_id=settings.kb_vector_store_id,
                     store_days=settings.kb_vector_store_days,
                     removal_limit=settings.kb_removal_limit)


def build_hosted(settings: Settings, db: Database) -> HostedSearch | None:
    """Web and file search for the conversation service (`service.hosted`), or None when the
    deployment offers neither (or is not on the Responses wire)."""
    if settings.text_api != "responses":
        return None
    web = settings.web_search == "on"
    files = settings.kb_backend == "yandex" and settings.kb_effective_mode != "off"
    if not (web or files):
        return None
    store_id = None
    if files:
        # Which store: KB_VECTOR_STORE_ID, else the one `kb sync` created (asked once it exists).
        from bot.storage.repositories.kb_store import KbStoreRepository

        known = [settings.kb_vector_store_id]

        async def resolve() -> str:
            if not known[0]:
                async with db.sessionmaker() as session:
                    known[0] = await KbStoreRepository(session).last_store() or ""
            return known[0]

        store_id = resolve
    return HostedSearch(
        sessionmaker=db.sessionmaker, today=utc_today,
        web_tool=web_search_tool(settings.web_search_domains, settings.web_search_region,
                                 settings.web_search_context) if web else None,
        web_limit=settings.web_searches_per_user_day,
        store_id=store_id, file_results=settings.kb_top_k,
        strict=files and settings.kb_effective_mode == "strict",
    )


async def start_store_sync(
    settings: Settings, db: Database, auth: Auth, stack: AsyncExitStack
) -> None:
    """KB_BACKEND=yandex in `run`: the store synced at start and every KB_SYNC_INTERVAL, like
    the local index (stopped, then its client closed, with the stack)."""
    from bot.features.knowledge.background import BackgroundSync

    client = build_store_client(settings, auth)
    stack.push_async_callback(client.aclose)
    syncer = BackgroundSync(build_store_sync(settings, db, client),
                            interval=settings.kb_sync_interval)
    syncer.start()
    stack.push_async_callback(syncer.stop)
