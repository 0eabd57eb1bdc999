"""`bot check` for web search: what the Responses API's web_search tool is set to do (its
reachability is the Responses API's, which the models' check proves)."""

from __future__ import annotations

from bot.features.websearch.settings import WebSearchSettings
from bot.plugin.outcome import Outcome, passed


def check_web_search(area: WebSearchSettings) -> Outcome:
    where = ", ".join(area.domains) or "the whole web"
    region = f", region {area.region}" if area.region else ""
    limit = area.per_user_day
    return passed("web search", f"on: {where}{region}, context {area.context}, "
                  f"{limit or 'unlimited'} per user a day")
