"""Filling an HTTP action's URL template with the model's arguments, one path segment each.

A placeholder's value comes from the model, so it is untrusted: it must never move the request
to another endpoint. Each value is percent-encoded whole (`/`, `?`, `#`, `%` included), and a
segment that would read as `.` or `..` has its dots encoded (`%2E%2E`), because URL
normalisation (RFC 3986 §5.2.4, which httpx applies) removes dot segments: `orders/../status`
would become `status`. An empty value, or one with control characters, is refused before any
request is made. Placeholders are allowed in the path only (the tools file refuses others).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Mapping
from urllib.parse import quote, urlsplit, urlunsplit

_PLACEHOLDER = re.compile(r"(?<!\$)\{([A-Za-z0-9_-]{1,64})\}")


class PathValueError(ValueError):
    """A placeholder's value cannot fill one path segment; the message says why."""


def placeholders_outside_path(url: str) -> list[str]:
    """Placeholders in the scheme, host, port, query or fragment (only the path may have them)."""
    parts = urlsplit(url)
    outside = f"{parts.scheme}://{parts.netloc}?{parts.query}#{parts.fragment}"
    return _PLACEHOLDER.findall(outside)


def fill_path(url: str, values: Mapping[str, object], scalar: Callable[[object], str]) -> str:
    """`url` with each `{name}` of its path replaced by the encoded value of `values[name]`;
    the result always has the template's segments, in number and place."""
    parts = urlsplit(url)
    segments = []
    for template in parts.path.split("/"):

        def value_of(match: re.Match[str]) -> str:
            return quote(_checked(match.group(1), scalar(values[match.group(1)])), safe="")

        filled = _PLACEHOLDER.sub(value_of, template)
        if filled != template and filled in (".", ".."):
            filled = filled.replace(".", "%2E")  # a dot segment would be removed, and more
        segments.append(filled)
    return urlunsplit((parts.scheme, parts.netloc, "/".join(segments), parts.query,
                       parts.fragment))


def _checked(name: str, value: str) -> str:
    if value == "":
        raise PathValueError(f"{name!r} is empty: it fills a part of the URL and needs a value")
    if any(unicodedata.category(char) in ("Cc", "Cf", "Zl", "Zp") for char in value):
        raise PathValueError(f"{name!r} has control or invisible characters: pass the value "
                             "as the user wrote it")
    return value
