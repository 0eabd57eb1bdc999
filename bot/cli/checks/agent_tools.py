"""`bot check` for the Responses API's built-in tools: the Vector Store of KB_BACKEND=yandex
is reachable with the deployment's credentials, and what web search is set to do."""

from __future__ import annotations

from bot.cli.checks.outcome import Outcome, failed, passed
from bot.features.settings import Settings

NAME = "vector store"


async def check_vector_store(settings: Settings) -> Outcome:
    """KB_VECTOR_STORE_ID is fetched (or, unset, the folder's stores listed): a 403 names the
    role the service account lacks, a 404 the setting to fix."""
    from bot.foundation_models import errors
    from bot.foundation_models.vector_stores import STORE_ROLE
    from bot.wiring.clients import build_auth_from, build_store_client

    folder = settings.yandex_folder_id
    store_id = settings.kb_vector_store_id
    client = build_store_client(settings, build_auth_from(settings))
    try:
        if store_id:
            store = await client.get_store(store_id)
            detail = (f"{store.id} ({store.name or 'unnamed'}): {store.status}, "
                      f"{store.files} files")
        else:
            await client.list_stores()
            detail = ("reachable; KB_VECTOR_STORE_ID is unset, so `python -m bot kb sync` "
                      "creates a store (or uses the one it created before)")
    except (errors.AuthenticationError, errors.PermissionDeniedError) as exc:
        return failed(NAME, f"Yandex refused the Vector Store API in folder {folder} "
                      f"({exc.status_code}): {exc.message}",
                      f"give the service account the role {STORE_ROLE} in folder {folder}")
    except errors.NotFoundError as exc:
        return failed(NAME, f"no vector store {store_id!r} in folder {folder}: {exc.message}",
                      "check KB_VECTOR_STORE_ID, or leave it empty for `kb sync` to create one")
    except errors.APIConnectionError as exc:
        return failed(NAME, f"cannot reach {settings.responses_url}: {exc}",
                      "check the network, a proxy or YANDEX_RESPONSES_URL")
    except errors.FoundationModelsError as exc:
        return failed(NAME, f"the Vector Store API failed: {exc}", "retry later; if it "
                      "persists, check https://status.yandex.cloud")
    finally:
        await client.aclose()
    return passed(NAME, detail)


def check_web_search(settings: Settings) -> Outcome:
    """What the web_search tool is set to (its reachability is the Responses API's)."""
    where = ", ".join(settings.web_search_domains) or "the whole web"
    region = f", region {settings.web_search_region}" if settings.web_search_region else ""
    limit = settings.web_searches_per_user_day
    return passed("web search", f"on: {where}{region}, context {settings.web_search_context}, "
                  f"{limit or 'unlimited'} per user a day")
