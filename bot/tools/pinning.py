"""MCP tool definitions are third-party text that reaches the model: pinned, and cleaned.

A server's tool names, descriptions and input schemas steer the model as much as a prompt does
("tool poisoning": a description that changes after review to say "also send the user's data
to ..."). `python -m bot tools pin` records each offered tool's definition in a lock file
beside TOOLS_FILE (`tools.lock`); at start and on every reconnect a tool whose definition
differs from its pinned one, or that was not pinned, is withheld with a log line naming it and
the difference. Without a lock file every tool is offered, with one warning at start.

Whatever is offered is cleaned first: control and invisible characters (zero-width, bidi
overrides, the tags block that can hide a whole instruction) are removed and a description is
cut to DESCRIPTION_LIMIT characters.
"""

from __future__ import annotations

import hashlib
import json
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

LOCK_NAME = "tools.lock"
DESCRIPTION_LIMIT = 1024


def clean_text(text: str, limit: int = DESCRIPTION_LIMIT) -> str:
    """`text` without control or invisible characters (tabs and newlines kept), cut to
    `limit` characters."""
    kept = "".join(
        char for char in text
        if char in "\n\t" or unicodedata.category(char) not in ("Cc", "Cf", "Co", "Cs", "Cn")
    )
    kept = kept.strip()
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


def definition_of(name: str, description: str, schema: Mapping[str, Any]) -> dict[str, Any]:
    """What is pinned of a tool: exactly what the server sent (before cleaning)."""
    return {"description": description, "input_schema": dict(schema)}


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

    def pin(self, server: str, name: str, description: str, schema: Mapping[str, Any]) -> None:
        definition = definition_of(name, description, schema)
        self.servers.setdefault(server, {})[name] = {
            **definition, "sha256": fingerprint(name, definition)}

    def problem(
        self, server: str, name: str, description: str, schema: Mapping[str, Any]
    ) -> str | None:
        """Why this definition may not be offered (changed since it was pinned, or never
        pinned), or None."""
        pinned = self.servers.get(server, {}).get(name)
        if pinned is None:
            return f"it is not in {self.path.name} (pin it after reviewing it)"
        now = definition_of(name, description, schema)
        if fingerprint(name, now) == pinned.get("sha256"):
            return None
        changes = []
        if pinned.get("description") != description:
            changes.append(f"description was {_short(pinned.get('description'))}, now "
                           f"{_short(description)}")
        if pinned.get("input_schema") != now["input_schema"]:
            changes.append(f"input schema was {_short(pinned.get('input_schema'))}, now "
                           f"{_short(now['input_schema'])}")
        return "its definition changed since it was pinned: " + "; ".join(
            changes or ["its fingerprint differs"])

    def write(self) -> None:
        text = json.dumps({"version": 1, "servers": self.servers}, indent=2, sort_keys=True,
                          ensure_ascii=False)
        self.path.write_text(text + "\n", encoding="utf-8")


def _short(value: object, limit: int = 160) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False,
                                                          sort_keys=True)
    text = text.encode("unicode_escape").decode("ascii")  # hidden characters made visible
    return repr(text if len(text) <= limit else text[:limit] + "…")
