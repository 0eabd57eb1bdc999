"""The Responses fake's built-in tools: `web_search` and `file_search`, as Yandex documents them.

Mixed into `FakeFoundationModels` before `ResponsesHandlers` (whose `responses_builtin` hook it
fills). A request whose `tools` hold `web_search` gets, before its answer, a `web_search_call`
item with the progress events `response.web_search_call.in_progress`, `.searching`,
`.completed` (or `.failed`), and the answer's text carries one `url_citation` per scripted
result with only `url` filled (`title` "", indexes 0), as
https://yandex.cloud/en/docs/ai-studio/concepts/agents/tools/websearch shows. Script it with
`queue_web_search(urls, fail=False)`; unscripted, a search finds nothing. With
`web_search_refused = (status, message)` every request carrying `web_search` is refused whole
with that status in the gateway's error body (`{"error": {grpcCode, httpCode, message,
httpStatus, details}}`), as an account without the permission (403) or a model that does not
take the tool (400) is; `web_search_refusals` counts them.

A request with `file_search` searches the fake's Vector Stores (fm_vector_stores.py) for the
last user message; unscripted, the model quotes the best passage's first sentence with a
`file_citation` (`file_id`, `filename`), or, when nothing relevant was found and the
instructions ask for NO_ANSWER_IN_SOURCES, answers exactly that.
"""

from __future__ import annotations

import itertools
from collections import deque
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from bot.testing.yandex.exchange import Response
from bot.testing.yandex.scripts import Reply
from bot.testing.yandex.text import Decider
from bot.testing.yandex.vector_stores import Found

NOT_FOUND_MARKER = "NO_ANSWER_IN_SOURCES"
_ids = itertools.count(1)


@dataclass
class WebSearch:
    urls: list[str] = field(default_factory=list)
    titles: list[str] = field(default_factory=list)
    fail: bool = False
    seconds: float = 0.0  # how long the search takes (between `.searching` and its end)


def _tools(body: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [t for t in body.get("tools") or [] if isinstance(t, dict) and t.get("type") == kind]


def _asked(messages: list[dict[str, Any]]) -> str:
    return next((str(m.get("content") or "") for m in reversed(messages)
                 if m.get("role") == "user"), "")


def _call_events(kind: str, failed: bool, seconds: float = 0.0) -> list[dict[str, Any]]:
    item_id = f"{kind[:2]}_{next(_ids)}"
    end = "failed" if failed else "completed"
    item = {"type": f"{kind}_call", "id": item_id}
    return [
        {"type": "response.output_item.added", "item": {**item, "status": "in_progress"}},
        {"type": f"response.{kind}_call.in_progress", "item_id": item_id},
        {"type": f"response.{kind}_call.searching", "item_id": item_id},
        *([{"type": "_sleep", "seconds": seconds}] if seconds else []),
        {"type": f"response.{kind}_call.{end}", "item_id": item_id},
        {"type": "response.output_item.done", "item": {**item, "status": end}},
    ]


class BuiltinToolHandlers:
    replies: deque[Reply]
    default_chunks: int
    default_interval: float
    decider: Decider | None
    searched: Reply | None

    if TYPE_CHECKING:  # the other handlers' (placed after this one)
        async def responses(self, body: dict[str, Any]) -> Response: ...

        @staticmethod
        def error(status: int, message: str, *, form: str = "object",
                  headers: dict[str, str] | None = None) -> Response: ...

        def file_search(self, store_ids: list[str], query: str, limit: int = 10,
                        threshold: float = 0.2, filters: Any = None) -> list[Found]: ...

    def init_builtin_tools(self) -> None:
        self.web_searches: deque[WebSearch] = deque()
        self.web_search_requests: list[dict[str, Any]] = []  # the web_search tools received
        self.file_search_requests: list[dict[str, Any]] = []
        self._found: dict[int, list[Found]] = {}
        self.web_search_refused: tuple[int, str] | None = None
        self.web_search_refusals = 0
        self.searched = None  # the answer quoting file_search's find, for this request

    def queue_web_search(self, urls: list[str], *, titles: list[str] | None = None,
                         fail: bool = False, seconds: float = 0.0) -> None:
        """The next web search finds these pages (or fails), taking `seconds`."""
        self.web_searches.append(WebSearch(list(urls), list(titles or []), fail, seconds))

    async def builtin_first(self, body: dict[str, Any]) -> Response:
        """Run file_search before the answer is chosen: an unscripted answer quotes it."""
        if self.web_search_refused is not None and _tools(body, "web_search"):
            self.web_search_refusals += 1
            status, message = self.web_search_refused
            return self.error(status, message)
        searches = _tools(body, "file_search")
        self.searched = None
        if searches:
            from bot.testing.yandex.responses import messages_of

            raw = messages_of(body)
            asked = _asked(raw) if isinstance(raw, list) else ""
            tool = searches[0]
            found = self.file_search([str(s) for s in tool.get("vector_store_ids") or []],
                                     asked, int(tool.get("max_num_results") or 10),
                                     filters=tool.get("filters"))
            self._found[id(body)] = found
            # Unscripted and undecided, the model quotes what the search found.
            marker = NOT_FOUND_MARKER in str(body.get("instructions") or "")
            text = (found[0].text.split(". ")[0].rstrip(".") + "." if found
                    else NOT_FOUND_MARKER if marker else "I could not find it.")
            self.searched = Reply(text, chunks=self.default_chunks,
                                  interval=self.default_interval)
        return await self.responses(body)

    def responses_builtin(
        self, body: dict[str, Any], messages: list[dict[str, Any]]
    ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        events: list[dict[str, Any]] = []
        annotations: list[dict[str, Any]] = []
        for tool in _tools(body, "web_search"):
            self.web_search_requests.append(tool)
            search = self.web_searches.popleft() if self.web_searches else WebSearch()
            events += _call_events("web_search", search.fail, search.seconds)
            if not search.fail:
                titles = search.titles + [""] * len(search.urls)
                annotations += [{"type": "url_citation", "url": url, "title": title,
                                 "start_index": 0, "end_index": 0}
                                for url, title in zip(search.urls, titles, strict=False)]
        for tool in _tools(body, "file_search"):
            self.file_search_requests.append(tool)
            found = self._found.pop(id(body), [])
            events += _call_events("file_search", False)
            annotations += [{"type": "file_citation", "file_id": item.file_id,
                             "filename": item.filename, "index": 0} for item in found[:1]]
        return events, annotations
