"""A Responses request refused because of its `web_search` tool: recognised, sent again without.

Yandex may refuse a whole request for the tool: a 400 naming it (the model or the folder cannot
use it) or a 403 (the account lacks the permission). The turn is then sent once more without
`web_search` (a `file_search` stays, unless the error names it), so the user still gets an
answer, with no web sources. When that second request is accepted the refusal was the tool's:
one WARNING line names the cause, and later requests leave the tool out for `REMEMBER` seconds
instead of paying a refused request first (docs/agent-tools.md).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import bot.foundation_models.errors as errors
from bot.clock import loop_time

logger = logging.getLogger("bot.foundation_models")

#: How long a refusal is remembered (seconds): a role or a model fixed meanwhile is picked up
#: within ten minutes, without a restart.
REMEMBER = 600.0
_WEB = ("web_search", "web search", "websearch", "web-search")
_UNSUPPORTED = ("not supported", "unsupported", "not available", "not allowed")
_FILE = ("file_search", "file search", "vector_store", "vector store", "search index")


def has_web_search(body: dict[str, Any]) -> bool:
    return any(isinstance(tool, dict) and tool.get("type") == "web_search"
               for tool in body.get("tools") or [])


def without_web_search(body: dict[str, Any]) -> dict[str, Any]:
    """The same request without the `web_search` tool (and without `tools` if none is left)."""
    tools = [tool for tool in body.get("tools") or []
             if not (isinstance(tool, dict) and tool.get("type") == "web_search")]
    stripped = {key: value for key, value in body.items() if key != "tools"}
    if tools:
        stripped["tools"] = tools
    return stripped


def may_be_web_refusal(error: BaseException, body: dict[str, Any]) -> bool:
    """Whether the request may have been refused for its `web_search` tool: a 400/403/404
    naming the tool, a 403 naming no other built-in tool, or a 400 saying tools are not
    supported (the retry tells which)."""
    if not isinstance(error, errors.APIStatusError) or not has_web_search(body):
        return False
    text = error.message.lower()
    if any(name in text for name in _WEB):
        return error.status_code in (400, 403, 404, 422)
    if any(name in text for name in _FILE):
        return False
    # "tools are not supported for this model" names no tool: the retry tells whether it was
    # the web search (nothing is remembered when the request without it is refused too).
    unsupported = "tool" in text and any(word in text for word in _UNSUPPORTED)
    return error.status_code == 403 or (error.status_code == 400 and unsupported)


def cause_of(error: errors.APIStatusError) -> str:
    if error.status_code == 403:
        return ("the service account lacks the permission (give it the roles "
                "ai.languageModels.user and ai.assistants.editor)")
    return "the model or the folder does not take the tool (pick another TEXT_MODEL)"


class WebSearchRefusal:
    """Per model: until when its requests go without `web_search`."""

    def __init__(self, *, clock: Callable[[], float] = loop_time,
                 remember: float = REMEMBER) -> None:
        self._clock = clock
        self._remember = remember
        self._until: dict[str, float] = {}

    def active(self, model: str) -> bool:
        until = self._until.get(model)
        if until is None:
            return False
        if self._clock() >= until:
            del self._until[model]
            return False
        return True

    def strip(self, model: str, body: dict[str, Any]) -> dict[str, Any]:
        """The body to send: without `web_search` while the model's refusal is remembered."""
        return without_web_search(body) if has_web_search(body) and self.active(model) else body

    def confirm(self, model: str, error: errors.APIStatusError) -> None:
        """The request went through without the tool: remember the refusal and say why once."""
        if self.active(model):
            return
        self._until[model] = self._clock() + self._remember
        logger.warning(
            "web search refused by the API for model %s (%s): %s; answering without it "
            "(WEB_SEARCH=on) for the next %d minutes, or set WEB_SEARCH=off",
            model, error, cause_of(error), round(self._remember / 60),
        )
