"""The Responses API's built-in tools from Settings: the Vector Store client and its sync
(KB_BACKEND=yandex). Part of the composition root: what is built receives plain values."""

from __future__ import annotations

from bot.config import Settings
from bot.foundation_models.auth import Auth
from bot.foundation_models.transport import Timeouts
from bot.foundation_models.vector_stores import VectorStoreClient
from bot.knowledge.store_sync import StoreSync
from bot.storage.database import Database


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
