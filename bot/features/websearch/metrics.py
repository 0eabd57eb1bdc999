"""Web search's series on /metrics: the searches the model ran."""

from __future__ import annotations

from bot.plugin.metrics import counter

WEB_SEARCHES = counter("fmbot_web_searches", "Web searches the model ran (the web_search tool)")


def web_searches(count: int) -> None:
    if count:
        WEB_SEARCHES.child().inc(count)
