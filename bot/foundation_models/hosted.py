"""The Responses API's built-in tools in a stream: web and file search calls and their sources.

Yandex runs `web_search` and `file_search` itself. A call shows as an output item
(`{"type": "web_search_call", "id", "status"}`) and progress events
(`response.web_search_call.in_progress`, `.searching`, `.completed`); the answer's text part
carries the sources as `url_citation` / `file_citation` annotations (docs/agent-tools.md).
This module reads them for `ResponseState`: which tool is running now (the draft's status
line), how each call ended, and the annotations as `Annotation`s.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Protocol

from bot.foundation_models.types import Annotation

#: Output item type -> the tool's name in `tools[]`.
HOSTED = {"web_search_call": "web_search", "file_search_call": "file_search"}
_ENDED = ("completed", "failed", "incomplete", "cancelled")


class HostedState(Protocol):
    """What these functions keep on a stream's state (`ResponseState`): each call's tool and
    status by item id, and the built-in tool running now."""

    hosted: dict[str, tuple[str, str]]
    activity: str


def _set(state: HostedState, key: str, tool: str, status: str) -> bool:
    """Record the call's status; True when the running tool changed."""
    state.hosted[key] = (tool, status)
    running = "" if status in _ENDED else tool
    changed = running != state.activity
    state.activity = running
    return changed


def track(state: HostedState, item: Any, key: str, *, done: bool) -> bool | None:
    """An output item added or done: None when it is not a built-in tool's call, else
    whether the running tool changed."""
    if not isinstance(item, dict) or item.get("type") not in HOSTED:
        return None
    status = str(item.get("status") or ("completed" if done else "in_progress"))
    if done and status not in _ENDED:
        status = "completed"
    return _set(state, key or str(item.get("id") or len(state.hosted)),
                HOSTED[str(item["type"])], status)


def progress(state: HostedState, kind: str, key: str) -> bool:
    """`response.web_search_call.searching` and the like; True when the running tool changed."""
    name, _, phase = kind.removeprefix("response.").rpartition(".")
    tool = HOSTED.get(name)
    if tool is None:
        return False
    return _set(state, key or name, tool, "in_progress" if phase == "searching" else phase)


def finish(state: HostedState, output: Iterable[Any]) -> None:
    """The final response's call items, for a server that sent no item events."""
    if state.hosted:
        state.activity = ""
        return
    for index, item in enumerate(output):
        track(state, item, f"final-{index}", done=True)
    state.activity = ""


def annotations_of(raw: Iterable[dict[str, Any]]) -> tuple[Annotation, ...]:
    found: list[Annotation] = []
    for item in raw:
        kind = str(item.get("type") or "")
        if kind == "url_citation" and item.get("url"):
            found.append(Annotation(kind, url=str(item["url"]),
                                    title=str(item.get("title") or "")))
        elif kind == "file_citation" and (item.get("file_id") or item.get("filename")):
            found.append(Annotation(kind, file_id=str(item.get("file_id") or ""),
                                    filename=str(item.get("filename") or "")))
    return tuple(found)
