"""The fake's Files and Vector Stores (AI Studio's search indexes), as Yandex documents them.

Routes (https://yandex.cloud/en/docs/ai-studio/vectorStores, .../files; shapes in
docs/agent-tools-wire.md): `POST /v1/files` (multipart `file`, `purpose`), `GET|DELETE
/v1/files/{id}`, `GET|POST /v1/vector_stores` (`expires_after` required), `GET
/v1/vector_stores/{id}`, `POST|GET /v1/vector_stores/{id}/files`, `DELETE
/v1/vector_stores/{id}/files/{file_id}` and `POST /v1/vector_stores/{id}/search`. Files are
indexed at once (status `completed`), split into paragraphs, and searched by the cosine of the
fake's embeddings (payloads.py), so a question shares words with the passage it finds.

`vector_stores_forbidden = True` answers every route 403 as a service account without the role
`ai.assistants.editor` gets; `file_search(...)` serves the Responses fake's `file_search` tool.
"""

from __future__ import annotations

import email.parser
import email.policy
import itertools
import json
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from bot.testing.yandex import payloads as p
from bot.testing.yandex.exchange import Request, Response, json_response

FILES_PATH = "/v1/files"
STORES_PATH = "/v1/vector_stores"
_ids = itertools.count(1)


@dataclass
class StoredFile:
    id: str
    filename: str
    data: bytes
    purpose: str
    created_at: int = field(default_factory=lambda: int(time.time()))

    def as_json(self) -> dict[str, Any]:
        return {"id": self.id, "object": "file", "bytes": len(self.data),
                "created_at": self.created_at, "filename": self.filename,
                "purpose": self.purpose, "status": "processed"}


@dataclass
class Store:
    id: str
    name: str
    days: int
    files: dict[str, dict[str, str]] = field(default_factory=dict)  # file id -> attributes
    created_at: int = field(default_factory=lambda: int(time.time()))


@dataclass(frozen=True)
class Found:
    file_id: str
    filename: str
    score: float
    text: str
    attributes: dict[str, str]


def new_id(prefix: str) -> str:
    return f"{prefix}{next(_ids):08d}"


def _multipart(content_type: str, raw: bytes) -> dict[str, tuple[str | None, bytes]]:
    """Form fields of a multipart body: name -> (filename, bytes)."""
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
        b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + raw
    )
    fields: dict[str, tuple[str | None, bytes]] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        payload = part.get_payload(decode=True)
        if isinstance(name, str) and isinstance(payload, bytes):
            fields[name] = (part.get_filename(), payload)
    return fields


def kept(filters: Any, attributes: dict[str, str]) -> bool:
    """Whether a file's attributes pass a filter: a comparison (`eq`, `ne`) or a compound
    (`and`, `or`) of them, as the Vector Store search documents them
    (https://yandex.cloud/en/docs/ai-studio/vectorStores/searchVectorStore). A filter of
    another form keeps nothing, so a test of access never passes by accident."""
    if not isinstance(filters, dict):
        return False
    kind = filters.get("type")
    if kind in ("and", "or"):
        parts = [kept(part, attributes) for part in filters.get("filters") or []]
        return bool(parts) and (all(parts) if kind == "and" else any(parts))
    key = filters.get("key")
    if kind == "eq":
        return key in attributes and attributes[key] == str(filters.get("value"))
    if kind == "ne":
        return attributes.get(str(key)) != str(filters.get("value"))
    return False


def _cosine(a: list[float], b: list[float]) -> float:
    return sum(x * y for x, y in zip(a, b, strict=True))


class VectorStoreHandlers:
    folder_id: str

    def init_vector_stores(self) -> None:
        self.stored_files: dict[str, StoredFile] = {}
        self.stores: dict[str, Store] = {}
        self.vector_stores_forbidden = False
        self.file_uploads = 0  # POST /v1/files accepted
        self.vector_store_searches = 0

    if TYPE_CHECKING:  # the service's own (text.py)
        @staticmethod
        def error(status: int, message: str, *, form: str = "object",
                  headers: dict[str, str] | None = None) -> Response: ...

    def store_json(self, store: Store) -> dict[str, Any]:
        count = len(store.files)
        return {"id": store.id, "object": "vector_store", "created_at": store.created_at,
                "name": store.name, "status": "completed",
                "usage_bytes": sum(len(self.stored_files[f].data) for f in store.files
                                   if f in self.stored_files),
                "file_counts": {"in_progress": 0, "completed": count, "failed": 0,
                                "cancelled": 0, "total": count},
                "expires_after": {"anchor": "last_active_at", "days": store.days},
                "expires_at": None, "last_active_at": store.created_at, "metadata": None}

    @staticmethod
    def store_file_json(store: Store, file_id: str) -> dict[str, Any]:
        return {"id": file_id, "object": "vector_store.file", "usage_bytes": 0,
                "created_at": store.created_at, "vector_store_id": store.id,
                "status": "completed", "last_error": None,
                "attributes": store.files.get(file_id) or None}

    def create_store(self, name: str, days: int = 30) -> Store:
        store = Store(new_id("fvt"), name, days)
        self.stores[store.id] = store
        return store

    def add_file(self, store_id: str, filename: str, text: str) -> str:
        """Put a document straight into a store (a test's setup)."""
        stored = StoredFile(new_id("fvf"), filename, text.encode(), "assistants")
        self.stored_files[stored.id] = stored
        self.stores[store_id].files[stored.id] = {}
        return stored.id

    def file_search(self, store_ids: list[str], query: str, limit: int = 10,
                    threshold: float = 0.2, filters: Any = None) -> list[Found]:
        """Passages of the stores' files nearest the query, best first; those below
        `threshold` are left out, as a relevance cut would, and so are the files whose
        attributes `filters` (a comparison or compound filter) does not keep."""
        self.vector_store_searches += 1
        wanted = p.embedding_of(query)
        found: list[Found] = []
        for store_id in store_ids:
            store = self.stores.get(store_id)
            for file_id, attributes in (store.files.items() if store else ()):
                stored = self.stored_files.get(file_id)
                if stored is None or (filters is not None and not kept(filters, attributes)):
                    continue
                text = stored.data.decode("utf-8", "replace")
                for passage in (part.strip() for part in text.split("\n\n")):
                    score = _cosine(wanted, p.embedding_of(passage)) if passage else 0.0
                    if score >= threshold:
                        found.append(Found(file_id, stored.filename, score, passage,
                                           attributes))
        found.sort(key=lambda item: -item.score)
        return found[:limit]

    async def vector_store_route(self, request: Request) -> Response:
        if self.vector_stores_forbidden:
            return self.error(403, "Permission denied")
        path, method, raw = request.path.rstrip("/"), request.method, request.body
        if path == FILES_PATH and method == "POST":
            return self._upload(request.headers.get("Content-Type", ""), raw)
        if path.startswith(FILES_PATH + "/"):
            stored = self.stored_files.get(path.removeprefix(FILES_PATH + "/"))
            if stored is None:
                return self.error(404, "File not found")
            if method == "DELETE":
                del self.stored_files[stored.id]
                return json_response({"id": stored.id, "object": "file", "deleted": True})
            return json_response(stored.as_json())
        body = json.loads(raw) if raw else {}
        if path == STORES_PATH and method == "GET":
            return json_response({"object": "list", "has_more": False, "data": [
                self.store_json(store) for store in self.stores.values()]})
        if path == STORES_PATH and method == "POST":
            expires = body.get("expires_after") if isinstance(body, dict) else None
            if not isinstance(expires, dict) or not isinstance(expires.get("days"), int):
                return self.error(400, "expires_after is required")
            created = self.create_store(str(body.get("name") or ""), expires["days"])
            for file_id in body.get("file_ids") or []:
                created.files[str(file_id)] = {}
            return json_response(self.store_json(created))
        parts = path.removeprefix(STORES_PATH + "/").split("/")
        store = self.stores.get(parts[0])
        if store is None:
            return self.error(404, f"Vector store {parts[0]} not found")
        if len(parts) == 1 and method == "GET":
            return json_response(self.store_json(store))
        if parts[1:] == ["files"]:
            return self._store_files(store, method, body)
        if len(parts) == 3 and parts[1] == "files" and method == "DELETE":
            if store.files.pop(parts[2], None) is None:
                return self.error(404, f"File {parts[2]} is not in the vector store")
            return json_response({"id": parts[2], "deleted": True,
                                      "object": "vector_store.file.deleted"})
        if parts[1:] == ["search"] and method == "POST":
            return self._search(store, body)
        return self.error(404, f"no such method: {method} {path}")

    def _upload(self, content_type: str, raw: bytes) -> Response:
        if not content_type.startswith("multipart/form-data"):
            return self.error(400, "multipart/form-data expected")
        fields = _multipart(content_type, raw)
        filename, data = fields.get("file", (None, b""))
        purpose = fields.get("purpose", (None, b""))[1].decode()
        if not filename or purpose != "assistants":
            return self.error(400, "file and purpose=assistants are required")
        stored = StoredFile(new_id("fvf"), filename, data, purpose)
        self.stored_files[stored.id] = stored
        self.file_uploads += 1
        return json_response(stored.as_json())

    def _store_files(self, store: Store, method: str, body: Any) -> Response:
        if method == "GET":
            return json_response({
                "object": "list", "has_more": False,
                "data": [self.store_file_json(store, file_id) for file_id in store.files],
            })
        file_id = str(body.get("file_id") or "") if isinstance(body, dict) else ""
        if file_id not in self.stored_files:
            return self.error(404, f"File {file_id!r} not found")
        attributes = body.get("attributes") or {}
        store.files[file_id] = {str(k): str(v) for k, v in attributes.items()}
        return json_response(self.store_file_json(store, file_id))

    def _search(self, store: Store, body: Any) -> Response:
        query = str(body.get("query") or "") if isinstance(body, dict) else ""
        limit = int(body.get("max_num_results") or 10) if isinstance(body, dict) else 10
        filters = body.get("filters") if isinstance(body, dict) else None
        found = self.file_search([store.id], query, limit, filters=filters)
        return json_response({
            "object": "vector_store.search_results.page", "search_query": [query],
            "has_more": False, "next_page": None,
            "data": [{"file_id": item.file_id, "filename": item.filename, "score": item.score,
                      "attributes": item.attributes,
                      "content": [{"type": "text", "text": item.text}]} for item in found],
        })
