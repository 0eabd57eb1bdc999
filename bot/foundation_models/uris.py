"""Model URIs: `gpt://<folder>/<model>/<branch>` and friends.

A deployment names models briefly (`yandexgpt-lite`, `yandexgpt/rc`, `yandex-art`) or by full
URI; the folder comes from configuration. The branch defaults to `latest`
(https://yandex.cloud/en/docs/ai-studio/concepts/generation/models).
"""

from __future__ import annotations

import re
from typing import Literal

from bot.foundation_models.errors import InvalidRequestError

Scheme = Literal["gpt", "art", "emb", "cls", "ds"]

_SCHEMES = ("gpt", "art", "emb", "cls", "ds")
_URI = re.compile(r"^(?P<scheme>[a-z]+)://(?P<folder>[^/\s]+)/(?P<rest>\S+)$")
_SHORT = re.compile(r"^[A-Za-z0-9][\w.\-]*(/[\w.\-@]+)?$")


def resolve_model_uri(name: str, folder_id: str, scheme: Scheme = "gpt") -> str:
    """Return the full URI for `name`.

    A full URI (`gpt://folder/yandexgpt/rc`) is returned unchanged; a short name
    (`yandexgpt-lite`, `yandexgpt/rc`) is prefixed with `scheme://folder_id/` and given the
    `latest` branch when it has none. Raises InvalidRequestError for anything else.
    """
    name = name.strip()
    if "://" in name:
        match = _URI.match(name)
        if match is None or match["scheme"] not in _SCHEMES:
            raise InvalidRequestError(f"not a model URI: {name!r}")
        return name
    if not name or not _SHORT.match(name):
        raise InvalidRequestError(f"not a model name: {name!r}")
    if not folder_id:
        raise InvalidRequestError(f"a folder id is needed to build the URI of {name!r}")
    if "/" not in name:
        name = f"{name}/latest"
    return f"{scheme}://{folder_id}/{name}"


def folder_of(uri: str) -> str:
    """The folder segment of a full model URI ("" when there is none)."""
    match = _URI.match(uri)
    return match["folder"] if match else ""
