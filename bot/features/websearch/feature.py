"""Web and file search (the Responses API's built-in tools) as one `Feature`: offered in
every turn on the Responses wire (WEB_SEARCH, and KB_BACKEND=yandex's Vector Store), its
line in `fmbot check`, its settings' check."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.features.websearch.settings import WebSearchSettings
from bot.plugin.config import raise_all
from bot.plugin.feature import TURN_COMMANDS, Feature, FeatureCheck, SettingsCheck

if TYPE_CHECKING:
    from bot.plugin.commands import ReportSection
    from bot.plugin.context import FeatureContext
    from bot.plugin.outcome import Outcome
    from bot.plugin.storage import Database


async def lifespan(ctx: FeatureContext) -> None:
    """Web and file search on the Responses wire: its settings checked before a turn's
    commands, its line in `fmbot check` and part of `fmbot report`; a tool in every turn,
    its lines of /stats."""
    settings, area = ctx.settings, ctx.section(WebSearchSettings)
    # WEB_SEARCH=on is a tool of the Responses API.
    ctx.settings_check(SettingsCheck(TURN_COMMANDS, lambda settings: raise_all(
        settings.section(WebSearchSettings).problems(settings.text_api))))
    if area.on and settings.text_api == "responses":
        async def web_search() -> list[Outcome]:
            from bot.features.websearch.checks import check_web_search

            return [check_web_search(area)]

        ctx.check(FeatureCheck("web search", web_search, credentials=False,
                               settings_only=True))

    async def report(db: Database, days: int) -> ReportSection:
        from bot.features.websearch.report import websearch_report

        return await websearch_report()(db, days)

    ctx.report(report)
    ground = await ctx.core()
    from bot.features.websearch.build import build_hosted
    from bot.plugin.offers import StoreFiles

    # The knowledge base kept by Yandex (KB_BACKEND=yandex, on): its files are searched, as
    # its settings say (the offer carries them: this feature reads no other's section).
    hosted = build_hosted(area, ground.db, text_api=settings.text_api,
                          files=ctx.built.find(StoreFiles))
    if hosted is not None:
        ctx.turn(hosted)
    front = await ctx.telegram()
    if front is None:
        return
    from bot.features.websearch.telegram import websearch_on_telegram

    ctx.on_front(websearch_on_telegram(front.parts))  # its lines of /stats


FEATURE = Feature(
    name="websearch",
    settings=WebSearchSettings,
    texts=("bot.features.websearch.texts",),
    lifespan=lifespan,
)
