"""The Responses API's built-in tools from Settings: web search, and file search in the
knowledge base's Vector Store (KB_BACKEND=yandex)."""

from __future__ import annotations

from bot.config import Settings
from bot.features.websearch.hosted import HostedSearch, web_search_tool
from bot.storage.database import Database
from bot.storage.models import utc_today


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
