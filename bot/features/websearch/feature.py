"""Web and file search (the Responses API's built-in tools) as one `Feature`: offered in
every turn on the Responses wire (WEB_SEARCH, and KB_BACKEND=yandex's Vector Store), its
line in `fmbot check`, its settings' check."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from bot.features.websearch.settings import WebSearchSettings
from bot.plugin.config import raise_all
from bot.plugin.feature import (
    TURN_COMMANDS,
    CoreParts,
    Feature,
    FeatureCheck,
    SettingsCheck,
    TelegramParts,
)

if TYPE_CHECKING:
    from bot.plugin.built import Built
    from bot.plugin.commands import ReportPart
    from bot.plugin.ground import Groundwork, TelegramGround
    from bot.plugin.outcome import Outcome
    from bot.plugin.settings import Settings


async def _build(ground: Groundwork, built: Built) -> CoreParts | None:
    from bot.features.websearch.build import build_hosted
    from bot.plugin.offers import StoreFiles

    settings = ground.settings
    # The knowledge base kept by Yandex (KB_BACKEND=yandex, on): its files are searched, as
    # its settings say (the offer carries them: this feature reads no other's section).
    files = built.find(StoreFiles)
    hosted = build_hosted(settings.section(WebSearchSettings), ground.db,
                          text_api=settings.text_api, files=files)
    return CoreParts(turn=[hosted]) if hosted is not None else None


def _checks(settings: Settings, environ: Mapping[str, str]) -> list[FeatureCheck]:
    if not (settings.section(WebSearchSettings).on and settings.text_api == "responses"):
        return []

    async def web_search() -> list[Outcome]:
        from bot.features.websearch.checks import check_web_search

        return [check_web_search(settings.section(WebSearchSettings))]

    return [FeatureCheck("web search", web_search, credentials=False, settings_only=True)]


def _on_telegram(front: TelegramGround, built: Built) -> TelegramParts:
    from bot.features.websearch.telegram import websearch_on_telegram

    return TelegramParts(part=websearch_on_telegram())  # its lines of /stats


def _report(settings: Settings) -> list[ReportPart]:
    from bot.features.websearch.report import websearch_report

    return [websearch_report()]


FEATURE = Feature(
    name="websearch",
    settings=WebSearchSettings,
    texts=("bot.features.websearch.texts",),
    # WEB_SEARCH=on is a tool of the Responses API.
    settings_checks=(SettingsCheck(TURN_COMMANDS, lambda settings: raise_all(
        settings.section(WebSearchSettings).problems(settings.text_api))),),
    checks=_checks,
    report=_report,
    build=_build,
    on_telegram=_on_telegram,
)
