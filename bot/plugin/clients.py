"""The Foundation Models clients from Settings: auth, the client, the chat model.

Part of the composition root: `fmbot run`, `fmbot chat`, `fmbot kb` and
`fmbot check` build their clients here; what is built receives plain values.
"""

from __future__ import annotations

from contextlib import AsyncExitStack
from typing import TYPE_CHECKING, Any

import httpx
from pydantic import SecretStr

from bot.foundation_models.auth import Auth, build_auth
from bot.foundation_models.client import FoundationModelsClient
from bot.foundation_models.limits import GenerationLimit
from bot.foundation_models.transport import Timeouts
from bot.foundation_models.types import ChatModel
from bot.metrics.registry import YandexMetrics

if TYPE_CHECKING:
    from bot.config.composed import SettingsBase as Settings
    from bot.foundation_models.embedder import Embedder
    from bot.foundation_models.openai_compat import OpenAICompatibleChatModel
    from bot.foundation_models.vector_stores import VectorStoreClient


def build_auth_from(settings: Settings) -> Auth:
    def secret(value: SecretStr | None) -> str | None:
        return value.get_secret_value() if value is not None else None

    return build_auth(
        api_key=secret(settings.yandex_api_key),
        iam_token=secret(settings.yandex_iam_token),
        sa_key_file=settings.yandex_sa_key_file,
        use_metadata=settings.yandex_use_metadata,
        iam_url=settings.yandex_iam_url,
        metadata_url=settings.yandex_metadata_url,
    )


def build_client(
    settings: Settings,
    auth: Auth,
    http: httpx.AsyncClient | None = None,
    generation_limit: GenerationLimit | None = None,
) -> FoundationModelsClient:
    """`http`: an HTTP client to use instead of the client's own (bot.testing's model);
    `generation_limit`: a cap shared with other replicas (None: this process's own)."""
    return FoundationModelsClient(
        folder_id=settings.yandex_folder_id,
        auth=auth,
        llm_url=settings.yandex_llm_url,
        operation_url=settings.yandex_operation_url,
        images_url=settings.images_url,
        data_logging=settings.yandex_data_logging,
        max_concurrent_generations=settings.yandex_max_concurrent_generations,
        timeouts=Timeouts(idle=settings.yandex_idle_timeout),
        observer=YandexMetrics(),
        reasoning_mode="ENABLED_HIDDEN" if settings.reasoning == "on" else None,
        http=http,
        generation_limit=generation_limit,
    )


def build_chat_model(
    settings: Settings, client: FoundationModelsClient, auth: Auth, stack: AsyncExitStack,
    http: httpx.AsyncClient | None = None, generation_limit: GenerationLimit | None = None,
) -> ChatModel:
    """The native API by default; TEXT_API=openai speaks {YANDEX_OPENAI_URL}/chat/completions,
    TEXT_API=responses {YANDEX_RESPONSES_URL}/responses."""
    if settings.text_api == "native":
        return client
    if settings.text_api == "responses":
        return _responses_model(settings, auth, stack, http, generation_limit)
    return _openai_model(settings, auth, stack, http, generation_limit)


def _wire_options(
    settings: Settings, auth: Auth, http: httpx.AsyncClient | None,
    generation_limit: GenerationLimit | None,
) -> dict[str, Any]:
    """What the OpenAI-compatible and Responses clients are built with alike."""
    return {
        "auth": auth,
        "folder_id": settings.yandex_folder_id,
        "data_logging": settings.yandex_data_logging,
        "max_concurrent_generations": settings.yandex_max_concurrent_generations,
        "timeouts": Timeouts(idle=settings.yandex_idle_timeout),
        "observer": YandexMetrics(),
        "http": http,
        "generation_limit": generation_limit,
    }


def _responses_model(
    settings: Settings, auth: Auth, stack: AsyncExitStack, http: httpx.AsyncClient | None = None,
    generation_limit: GenerationLimit | None = None,
) -> ChatModel:
    """A client of the Responses API, closed with the stack."""
    from bot.foundation_models.responses import ResponsesChatModel

    model = ResponsesChatModel(
        base_url=settings.responses_url, **_wire_options(settings, auth, http, generation_limit)
    )
    stack.push_async_callback(model.aclose)
    return model


def _openai_model(
    settings: Settings, auth: Auth, stack: AsyncExitStack, http: httpx.AsyncClient | None = None,
    generation_limit: GenerationLimit | None = None,
) -> OpenAICompatibleChatModel:
    """A client of {YANDEX_OPENAI_URL}, closed with the stack."""
    from bot.foundation_models.openai_compat import OpenAICompatibleChatModel

    model = OpenAICompatibleChatModel(
        base_url=settings.openai_url,
        reasoning_effort=settings.reasoning_effort if settings.reasoning == "on" else None,
        **_wire_options(settings, auth, http, generation_limit),
    )
    stack.push_async_callback(model.aclose)
    return model


# --- Photos and voice notes ---------------------------------------------------------
def build_vision_model(
    settings: Settings, chat_model: ChatModel, auth: Auth, stack: AsyncExitStack,
    http: httpx.AsyncClient | None = None,
) -> ChatModel:
    """A model that takes images (`input_image` parts): the chat model itself when it speaks
    the OpenAI-compatible or the Responses API, else a client of the OpenAI-compatible API."""
    from bot.foundation_models.openai_compat import OpenAICompatibleChatModel
    from bot.foundation_models.responses import ResponsesChatModel

    if isinstance(chat_model, OpenAICompatibleChatModel | ResponsesChatModel):
        return chat_model
    return _openai_model(settings, auth, stack, http)


def build_store_client(settings: Settings, auth: Auth,
                       http: httpx.AsyncClient | None = None) -> VectorStoreClient:
    """Files and Vector Stores live beside the Responses API (YANDEX_RESPONSES_URL); `http`:
    the models' HTTP client when given (bot.testing)."""
    from bot.foundation_models.vector_stores import VectorStoreClient

    return VectorStoreClient(base_url=settings.responses_url, auth=auth,
                             folder_id=settings.yandex_folder_id,
                             timeouts=Timeouts(idle=settings.yandex_idle_timeout), http=http)


def build_embedder(settings: Settings, client: FoundationModelsClient) -> Embedder:
    """The embedding models (EMBEDDING_*), paced within the folder's quota: one per bot, so
    that everything that embeds shares the pacer (the knowledge base, the desk's insights)."""
    from bot.foundation_models.embedder import Embedder

    return Embedder(client, doc_model=settings.embedding_doc_model,
                    query_model=settings.embedding_query_model, rps=settings.embedding_rps)
