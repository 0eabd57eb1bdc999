"""Reading the JSON object a model was asked to answer with."""

from __future__ import annotations

import json
from typing import Any

# Model output is untrusted: an answer this long is not what any job asked for (the longest,
# FAQ drafts, is a few thousand characters), and is not parsed at all.
MAX_CHARS = 64_000


def parse_json(text: str, limit: int = MAX_CHARS) -> dict[str, Any] | None:
    """The JSON object in the model's answer (a ```json fence tolerated); None when none, or
    when the answer is longer than `limit` characters."""
    if len(text) > limit:
        return None
    body = text.strip()
    if body.startswith("```"):
        body = body.strip("`")
        body = body.split("\n", 1)[1] if "\n" in body else body
    start, end = body.find("{"), body.rfind("}")
    if start < 0 or end < start:
        return None
    try:
        data = json.loads(body[start : end + 1])
    except ValueError:
        return None
    return data if isinstance(data, dict) else None
