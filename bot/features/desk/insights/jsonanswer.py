"""Reading the JSON object a model was asked to answer with."""

from __future__ import annotations

import json
from typing import Any


def parse_json(text: str) -> dict[str, Any] | None:
    """The JSON object in the model's answer (a ```json fence tolerated); None when none."""
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
