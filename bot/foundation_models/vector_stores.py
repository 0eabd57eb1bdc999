"""A client of AI Studio's Files and Vector Stores (search indexes) for the `file_search` tool.

Shapes from https://yandex.cloud/en/docs/ai-studio/vectorStores and
https://yandex.cloud/en/docs/ai-studio/files/createFile (recorded in docs/agent-tools-wire.md):
a document is uploaded to `POST /v1/files` (multipart, `purpose=assistants`), attached to a
store with `POST /v1/vector_stores/{id}/files`, and detached and deleted when it changes or goes.
Knows nothing of Telegram or the database: the knowledge base keeps which file is which.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

import httpx

import bot.foundation_models.errors as errors
from bot.foundation_models.auth import Auth
from bot.foundation_models.base import ApiClient, ProjectTransport
from bot.foundation_models.openai_compat import BearerAuth
from bot.foundation_models.transport import RetryPolicy, Timeouts

#: What the service account needs for search indexes (Yandex's guide to managing them).
STORE_ROLE = "ai.assistants.editor"


@dataclass(frozen=True, slots=True)
class VectorStore:
    id: str
    name: str
    status: str  # in_progress | completed | expired
    files: int


@dataclass(frozen=True, slots=True)
class StoreHit:
    """A passage `POST /v1/vector_stores/{id}/search` found."""

    file_id: str
    filename: str
    score: float
    text: str


def _read(raw: bytes, what: str) -> dict[str, Any]:
    try:
        value = json.loads(raw)
    except ValueError:
        raise errors.APIError(f"unreadable answer ({what})") from None
    if not isinstance(value, dict):
        raise errors.APIError(f"unreadable answer ({what})")
    return value


def _store(value: dict[str, Any]) -> VectorStore:
    counts = value.get("file_counts") or {}
    return VectorStore(str(value.get("id") or ""), str(value.get("name") or ""),
                       str(value.get("status") or ""), int(counts.get("total") or 0))


class VectorStoreClient(ApiClient):
    """`{base_url}/files` and `{base_url}/vector_stores` (base: the Responses API's, `/v1`)."""

    def __init__(
        self,
        *,
        base_url: str,
        auth: Auth,
        folder_id: str,
        timeouts: Timeouts | None = None,
        retry: RetryPolicy | None = None,
        http: httpx.AsyncClient | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        super().__init__(
            auth=BearerAuth(auth), folder_id=folder_id, timeouts=timeouts, retry=retry,
            http=http, sleep=sleep, transport=ProjectTransport,
            limits=httpx.Limits(max_connections=10, max_keepalive_connections=10),
        )
        self.base_url = base_url.rstrip("/")

    async def _call(self, method: str, path: str, what: str, *, json: Any = None
                    ) -> dict[str, Any]:
        raw = await self._transport.request(method, f"{self.base_url}{path}", json=json)
        return _read(raw, what)

    async def create_store(self, name: str, *, days: int) -> VectorStore:
        """A new, empty store that expires `days` after it was last used (Yandex requires
        an expiry)."""
        body = {"name": name, "expires_after": {"anchor": "last_active_at", "days": days}}
        return _store(await self._call("POST", "/vector_stores", "vector_store", json=body))

    async def list_stores(self, limit: int = 1) -> list[VectorStore]:
        """The folder's stores (first page): what `bot check` asks to prove the role."""
        page = await self._call("GET", f"/vector_stores?limit={limit}", "vector_store list")
        return [_store(item) for item in page.get("data") or [] if isinstance(item, dict)]

    async def get_store(self, store_id: str) -> VectorStore:
        return _store(await self._call("GET", f"/vector_stores/{store_id}", "vector_store"))

    async def upload(self, filename: str, data: bytes) -> str:
        """Upload one document (`purpose=assistants`); its file id."""
        request = httpx.Request("POST", f"{self.base_url}/files",
                                files={"file": (filename, data)},
                                data={"purpose": "assistants"})
        body = request.read()
        raw = await self._transport.request(
            "POST", f"{self.base_url}/files", content=body,
            content_type=request.headers["Content-Type"],
        )
        file_id = _read(raw, "file").get("id")
        if not isinstance(file_id, str) or not file_id:
            raise errors.APIError("the uploaded file has no id")
        return file_id

    async def attach(self, store_id: str, file_id: str,
                     attributes: Mapping[str, str] | None = None) -> str:
        """Add an uploaded file to the store; its status (completed once indexed)."""
        body: dict[str, Any] = {"file_id": file_id}
        if attributes:
            body["attributes"] = dict(attributes)
        answer = await self._call("POST", f"/vector_stores/{store_id}/files",
                                  "vector_store.file", json=body)
        return str(answer.get("status") or "")

    async def detach(self, store_id: str, file_id: str) -> None:
        """Remove a file from the store; one already gone is fine."""
        with contextlib.suppress(errors.NotFoundError):
            await self._call("DELETE", f"/vector_stores/{store_id}/files/{file_id}",
                             "vector_store.file.deleted")

    async def delete_file(self, file_id: str) -> None:
        """Delete an uploaded file (detaching keeps it, and its storage is paid for)."""
        with contextlib.suppress(errors.NotFoundError):
            await self._call("DELETE", f"/files/{file_id}", "file.deleted")

    async def search(self, store_id: str, query: str, limit: int = 5) -> list[StoreHit]:
        """The store's passages nearest `query`, best first (`kb search`)."""
        body = {"query": query, "max_num_results": limit}
        page = await self._call("POST", f"/vector_stores/{store_id}/search",
                                "vector_store.search_results.page", json=body)
        hits: list[StoreHit] = []
        for item in page.get("data") or []:
            text = " ".join(str(part.get("text") or "") for part in item.get("content") or []
                            if isinstance(part, dict))
            hits.append(StoreHit(str(item.get("file_id") or ""), str(item.get("filename") or ""),
                                 float(item.get("score") or 0.0), text))
        return hits
