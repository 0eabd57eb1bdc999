"""Who reads what of the knowledge base (issue 81): the groups a turn's documents may come
from, and the same rule as a `file_search` filter when Yandex keeps the base.

A private chat reads what the signed-in employee's groups may; a group chat reads only the
open documents (everyone in it reads the answer), unless KB_GROUP_CHATS maps it to the one
access group whose members alone are in it; a user not signed in, and a turn resumed without
an update, read only the open documents.

With KB_BACKEND=yandex each uploaded file carries the attribute `fmbot_access`: its groups,
comma-joined, or `*` when open. File search takes one search index per request
(https://yandex.cloud/en/docs/ai-studio/concepts/agents/tools/filesearch: "You can connect
only one search index to a model at a time"), so a store per group cannot serve an employee
of two groups; the tool's `filters` (comparison `eq` joined by `or`, as the Vector Store
search documents them: https://yandex.cloud/en/docs/ai-studio/vectorStores/searchVectorStore)
keep the files the asker may not read out of the search itself.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

from bot.plugin.conversation import ChatRef, Speaker

#: The Vector Store file attribute naming who may read the file.
ACCESS_ATTRIBUTE = "fmbot_access"
#: Its value for a file every admitted user may read.
OPEN = "*"
#: The longest attribute value Yandex's OpenAI-compatible files take.
ATTRIBUTE_LIMIT = 512


def readers(speaker: Speaker, chat: ChatRef, group_chats: Mapping[int, str]
            ) -> frozenset[str]:
    """The groups whose documents this turn may use (none: the open documents only)."""
    if chat.is_group:
        group = group_chats.get(chat.chat_id)
        return frozenset({group}) if group else frozenset()
    employee = speaker.employee
    return employee.groups if employee is not None else frozenset()


def attribute(groups: Collection[str]) -> str:
    """The `fmbot_access` value of a file whose document names `groups`."""
    return ",".join(sorted(groups)) or OPEN


def store_filter(sets: Collection[tuple[str, ...]], readers: frozenset[str]
                 ) -> dict[str, Any] | None:
    """The `file_search` filter leaving out what `readers` may not read, given the group sets
    the store's restricted files name (None when none is restricted: no filter, so files
    uploaded before access was kept stay searchable until the next sync uploads them
    again)."""
    if not sets:
        return None
    allowed = [OPEN, *sorted(attribute(s) for s in set(sets) if readers.intersection(s))]
    clauses: list[dict[str, Any]] = [{"type": "eq", "key": ACCESS_ATTRIBUTE, "value": value}
                                     for value in allowed]
    return clauses[0] if len(clauses) == 1 else {"type": "or", "filters": clauses}
