"""Built-in tool calls in a Responses stream (hosted.py), and their sources numbered for the
answer (features/websearch/hosted.py): the status while a search runs, how each call ended, the
annotations as Yandex sends them (only `url` filled), deduplicated in order."""

from __future__ import annotations

from bot.features.websearch.hosted import host_of, sources_of, web_search_tool
from bot.foundation_models.responses_events import ResponseState
from bot.foundation_models.types import Annotation


def _feed(state: ResponseState, *events: dict[str, object]) -> list[bool]:
    return [state.handle(event) for event in events]


def test_a_web_search_sets_the_activity_until_it_ends() -> None:
    state = ResponseState()
    changed = _feed(
        state,
        {"type": "response.output_item.added", "output_index": 0,
         "item": {"type": "web_search_call", "id": "ws_1", "status": "in_progress"}},
        {"type": "response.web_search_call.searching", "output_index": 0, "item_id": "ws_1"},
    )
    assert changed == [True, False]
    assert state.activity == "web_search"
    changed = _feed(
        state,
        {"type": "response.web_search_call.failed", "output_index": 0, "item_id": "ws_1"},
        {"type": "response.output_item.done", "output_index": 0,
         "item": {"type": "web_search_call", "id": "ws_1", "status": "failed"}},
    )
    assert changed == [True, False]
    assert state.activity == ""
    assert list(state.hosted.values()) == [("web_search", "failed")]
    assert state.calls == {}  # not a function call for fmbot's tool loop


def test_calls_only_in_the_final_response_are_read_too() -> None:
    state = ResponseState()
    state.handle({"type": "response.completed", "response": {
        "status": "completed", "output": [
            {"type": "web_search_call", "id": "ws_9", "status": "completed"},
            {"type": "message", "content": [{
                "type": "output_text", "text": "Done.",
                "annotations": [{"type": "url_citation", "url": "ria.ru", "title": "",
                                 "start_index": 0, "end_index": 0}]}]}]}})
    assert list(state.hosted.values()) == [("web_search", "completed")]
    assert state.text == "Done."
    assert state.annotations[0]["url"] == "ria.ru"


def test_sources_are_numbered_once_each_with_a_title_or_the_host() -> None:
    annotations = [
        Annotation("url_citation", url="www.rbc.ru"),
        Annotation("url_citation", url="https://ria.ru/news/1", title="RIA"),
        Annotation("url_citation", url="https://www.rbc.ru/"),
        Annotation("file_citation", file_id="f1", filename="a.md"),
        Annotation("file_citation", file_id="f1", filename="a.md"),
    ]
    sources = sources_of(annotations, {"f1": "docs/a.md"})
    assert [(s.number, s.title, s.url, s.cited) for s in sources] == [
        (1, "www.rbc.ru", "https://www.rbc.ru", True),
        (2, "RIA", "https://ria.ru/news/1", True),
        (3, "docs/a.md", None, True),
    ]
    assert host_of("https://example.com:8443/x") == "example.com"


def test_the_web_search_tool_leaves_out_what_is_not_set() -> None:
    assert web_search_tool([], "", "medium") == {"type": "web_search",
                                                 "search_context_size": "medium"}
