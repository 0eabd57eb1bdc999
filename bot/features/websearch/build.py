"""The Responses API's built-in tools from their settings (`settings.websearch`): web search,
and file search in the knowledge base's Vector Store (KB_BACKEND=yandex)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.features.websearch.hosted import HostedSearch, web_search_tool
from bot.features.websearch.settings import WebSearchSettings
from bot.plugin.storage import Database, utc_today

if TYPE_CHECKING:
    from bot.plugin.offers import StoreFiles


def build_hosted(
    area: WebSearchSettings, db: Database, *, text_api: str, files: StoreFiles | None = None,
) -> HostedSearch | None:
    """Web and file search for the conversation service (`service.hosted`), or None when the
    deployment offers neither (or is not on the Responses wire: `text_api`). `files`
    (KB_BACKEND=yandex with the knowledge base on): the knowledge base's files in its Vector
    Store, searched as the knowledge base's settings say (`StoreFiles`)."""
    if text_api != "responses":
        return None
    web = area.on
    if not (web or files is not None):
        return None
    store = None
    if files is not None:
        # Which store: KB_VECTOR_STORE_ID, else the one `kb sync` created (asked once it exists).
        known = [files.store_id]
        last_store = files.last_store

        async def resolve() -> str:
            if not known[0]:
                async with db.sessionmaker() as session:
                    known[0] = await last_store(session) or ""
            return known[0]

        store = resolve
    return HostedSearch(
        sessionmaker=db.sessionmaker, today=utc_today,
        web_tool=web_search_tool(area.domains, area.region, area.context)
        if web else None,
        web_limit=area.per_user_day,
        store_id=store, files=files, file_results=files.top_k if files is not None else 5,
        strict=files is not None and files.strict,
    )
