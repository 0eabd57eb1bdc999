"""The Responses API's built-in tools from their settings (`settings.websearch`): web search,
and file search in the knowledge base's Vector Store (KB_BACKEND=yandex)."""

from __future__ import annotations

from bot.features.websearch.hosted import HostedSearch, web_search_tool
from bot.features.websearch.settings import WebSearchSettings
from bot.storage.database import Database
from bot.storage.models import utc_today


def build_hosted(
    area: WebSearchSettings, db: Database, *, text_api: str, file_search: bool = False,
    store_id: str = "", file_results: int = 5, strict: bool = False,
) -> HostedSearch | None:
    """Web and file search for the conversation service (`service.hosted`), or None when the
    deployment offers neither (or is not on the Responses wire: `text_api`). `file_search`
    (KB_BACKEND=yandex with the knowledge base on): the Vector Store `store_id` (empty: the
    one `kb sync` created), `file_results` passages (KB_TOP_K), `strict` (KB_MODE=strict)."""
    if text_api != "responses":
        return None
    web = area.on
    if not (web or file_search):
        return None
    store = None
    if file_search:
        # Which store: KB_VECTOR_STORE_ID, else the one `kb sync` created (asked once it exists).
        from bot.features.knowledge.store_records import KbStoreRepository

        known = [store_id]

        async def resolve() -> str:
            if not known[0]:
                async with db.sessionmaker() as session:
                    known[0] = await KbStoreRepository(session).last_store() or ""
            return known[0]

        store = resolve
    return HostedSearch(
        sessionmaker=db.sessionmaker, today=utc_today,
        web_tool=web_search_tool(area.domains, area.region, area.context)
        if web else None,
        web_limit=area.per_user_day,
        store_id=store, file_results=file_results,
        strict=file_search and strict,
    )
