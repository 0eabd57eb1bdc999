"""MCP tool definitions are third-party text that reaches the model: pinned, and cleaned.

A server's tool names, titles, descriptions, input schemas and annotations steer the model as
much as a prompt does ("tool poisoning": a description that changes after review to say "also
send the user's data to ..."; a tool without a description is offered with its title).
`python -m bot tools pin` records every one of those texts of each offered tool in a lock file
beside TOOLS_FILE (`tools.lock`); at start and on every reconnect a tool whose definition
differs from its pinned one in any of them, or that was not pinned, is withheld with a log line
naming it and the difference. A lock file written before titles and annotations were pinned
withholds its tools until it is made again. Without a lock file every tool is offered, with one
warning at start.

Whatever is offered is cleaned first: control and invisible characters (zero-width, bidi
overrides, the tags block that can hide a whole instruction) are removed and a description is
cut to DESCRIPTION_LIMIT characters.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.plugin.prompting import visible

LOCK_NAME = "tools.lock"
DESCRIPTION_LIMIT = 1024


def clean_text(text: str, limit: int = DESCRIPTION_LIMIT) -> str:
    """`text` without control or invisible characters (tabs and newlines kept), cut to
    `limit` characters."""
    kept = visible(text).strip()
    return kept if len(kept) <= limit else kept[: limit - 1].rstrip() + "…"


def clean_schema(schema: Mapping[str, Any]) -> dict[str, Any]:
    """An input schema with its descriptions and titles cleaned as descriptions are."""

    def walk(node: Any) -> Any:
        if isinstance(node, Mapping):
            return {key: (clean_text(value) if key in ("description", "title")
                          and isinstance(value, str) else walk(value))
                    for key, value in node.items()}
        if isinstance(node, list):
            return [walk(item) for item in node]
        return node

    return dict(walk(schema))


# What is pinned of a tool besides its name, in the order a difference is named.
PINNED = ("title", "description", "input_schema", "annotations")


def definition_of(
    description: str,
    schema: Mapping[str, Any],
    *,
    title: str | None = None,
    annotations: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """What is pinned of a tool: every text of it the server sent (before cleaning); the name
    goes into the fingerprint."""
    return {"title": title, "description": description, "input_schema": dict(schema),
            "annotations": dict(annotations) if annotations is not None else None}


def fingerprint(name: str, definition: Mapping[str, Any]) -> str:
    canonical = json.dumps({"name": name, **definition}, sort_keys=True, ensure_ascii=False,
                           separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


class LockFileError(ValueError):
    """The lock file cannot be read; the message is one line."""


@dataclass
class PinnedTools:
    """The lock file: server -> tool -> its pinned definition and fingerprint."""

    path: Path
    servers: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)

    @classmethod
    def beside(cls, tools_file: Path) -> PinnedTools | None:
        """The lock file next to `tools_file`, or None when there is none."""
        path = tools_file.with_name(LOCK_NAME)
        if not path.exists():
            return None
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            servers = data["servers"]
            if not isinstance(servers, dict):
                raise TypeError("servers is not a table")
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise LockFileError(
                f"{path}: not a tools lock file ({exc}); make it again with "
                "python -m bot tools pin"
            ) from None
        return cls(path, servers)

    def pin(self, server: str, name: str, definition: Mapping[str, Any]) -> None:
        """Record `definition` (from `definition_of`) as the reviewed one."""
        self.servers.setdefault(server, {})[name] = {
            **definition, "sha256": fingerprint(name, definition)}

    def problem(self, server: str, name: str, definition: Mapping[str, Any]) -> str | None:
        """Why this definition (from `definition_of`) may not be offered (changed since it
        was pinned in any text, or never pinned), or None."""
        pinned = self.servers.get(server, {}).get(name)
        if pinned is None:
            return f"it is not in {self.path.name} (pin it after reviewing it)"
        if fingerprint(name, definition) == pinned.get("sha256"):
            return None
        if not all(key in pinned for key in PINNED):
            return (f"it was pinned by an older fmbot, without its title and annotations: "
                    f"review it and make {self.path.name} again")
        changes = [
            f"{key.replace('_', ' ')} was {_short(pinned.get(key))}, now "
            f"{_short(definition.get(key))}"
            for key in PINNED if pinned.get(key) != definition.get(key)
        ]
        return "its definition changed since it was pinned: " + "; ".join(
            changes or ["its fingerprint differs"])

    def write(self) -> None:
        text = json.dumps({"version": 2, "servers": self.servers}, indent=2, sort_keys=True,
                          ensure_ascii=False)
        self.path.write_text(text + "\n", encoding="utf-8")


def _short(value: object, limit: int = 160) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False,
                                                          sort_keys=True)
    text = text.encode("unicode_escape").decode("ascii")  # hidden characters made visible
    return repr(text if len(text) <= limit else text[:limit] + "…")
