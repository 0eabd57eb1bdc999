"""`bot check` for the knowledge base: KB_PATH's folders readable, and one kept in a Yandex
Vector Store (KB_BACKEND=yandex) reachable with the deployment's credentials, a missing role
or store named."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from bot.plugin.outcome import Outcome, failed, passed

if TYPE_CHECKING:
    from bot.plugin.models import VectorStoreClient

NAME = "vector store"


async def check_vector_store(store_id: str, *, folder_id: str, responses_url: str,
                             client: Callable[[], VectorStoreClient]) -> Outcome:
    """KB_VECTOR_STORE_ID is fetched (or, unset, the folder's stores listed) with the client
    `client` makes (a FoundationModelsError from it is this check's failure): a 403 names the
    role the service account lacks, a 404 the setting to fix."""
    from bot.plugin.models import (
        STORE_ROLE,
        APIConnectionError,
        AuthenticationError,
        FoundationModelsError,
        NotFoundError,
        PermissionDeniedError,
    )

    try:
        stores = client()
    except FoundationModelsError as exc:
        return failed(NAME, str(exc), "check the Yandex credentials")
    try:
        if store_id:
            store = await stores.get_store(store_id)
            detail = (f"{store.id} ({store.name or 'unnamed'}): {store.status}, "
                      f"{store.files} files")
        else:
            await stores.list_stores()
            detail = ("reachable; KB_VECTOR_STORE_ID is unset, so `python -m bot kb sync` "
                      "creates a store (or uses the one it created before)")
    except (AuthenticationError, PermissionDeniedError) as exc:
        return failed(NAME, f"Yandex refused the Vector Store API in folder {folder_id} "
                      f"({exc.status_code}): {exc.message}",
                      f"give the service account the role {STORE_ROLE} in folder {folder_id}")
    except NotFoundError as exc:
        return failed(NAME, f"no vector store {store_id!r} in folder {folder_id}: {exc.message}",
                      "check KB_VECTOR_STORE_ID, or leave it empty for `kb sync` to create one")
    except APIConnectionError as exc:
        return failed(NAME, f"cannot reach {responses_url}: {exc}",
                      "check the network, a proxy or YANDEX_RESPONSES_URL")
    except FoundationModelsError as exc:
        return failed(NAME, f"the Vector Store API failed: {exc}", "retry later; if it "
                      "persists, check https://status.yandex.cloud")
    finally:
        await stores.aclose()
    return passed(NAME, detail)


def check_knowledge_base(folders: Sequence[Path]) -> Outcome:
    """KB_PATH's folders exist, can be read, and hold files."""
    name = "knowledge base"
    for folder in folders:
        path = folder.expanduser()
        if not path.is_dir():
            return failed(name, f"KB_PATH: {folder} is not a folder",
                          "point KB_PATH at existing folders (comma-separated)")
        try:
            if not os.access(path, os.R_OK | os.X_OK):
                raise PermissionError(13, "permission denied")
            files = sum(1 for item in path.rglob("*") if item.is_file())
        except OSError as exc:
            return failed(name, f"KB_PATH: cannot read {folder}: {exc.strerror}",
                          f"let the bot's user read it (chmod -R a+rX {folder})")
        if not files:
            return failed(name, f"KB_PATH: {folder} holds no files",
                          "put the documents to answer from there")
    return passed(name, f"{len(folders)} folder(s) readable")
