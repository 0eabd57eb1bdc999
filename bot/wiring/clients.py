"""The Foundation Models clients from Settings: auth, the client, the chat model.

Part of the composition root: `fmbot run`, `fmbot chat`, `fmbot kb` and
`fmbot check` build their clients here; what is built receives plain values.
"""

from __future__ import annotations

from contextlib import AsyncExitStack
from typing import TYPE_CHECKING

from pydantic import SecretStr

from bot.config import Settings
from bot.foundation_models.auth import Auth, build_auth
from bot.foundation_models.client import FoundationModelsClient
from bot.foundation_models.limits import GenerationLimit
from bot.foundation_models.speech import SpeechRecognizer
from bot.foundation_models.transport import Timeouts
from bot.foundation_models.types import ChatModel
from bot.metrics.registry import YandexMetrics

if TYPE_CHECKING:
    from bot.foundation_models.openai_compat import OpenAICompatibleChatModel


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
    settings: Settings, auth: Auth, generation_limit: GenerationLimit | None = None
) -> FoundationModelsClient:
    """`generation_limit`: a cap shared with other replicas (None: this process's own)."""
    return FoundationModelsClient(
        folder_id=settings.yandex_folder_id,
        auth=auth,
        llm_url=settings.yandex_llm_url,
        operation_url=settings.yandex_operation_url,
        data_logging=settings.yandex_data_logging,
        max_concurrent_generations=settings.yandex_max_concurrent_generations,
        timeouts=Timeouts(idle=settings.yandex_idle_timeout),
        observer=YandexMetrics(),
        generation_limit=generation_limit,
    )


def build_chat_model(
    settings: Settings,
    client: FoundationModelsClient,
    auth: Auth,
    stack: AsyncExitStack,
    generation_limit: GenerationLimit | None = None,
) -> ChatModel:
    """The native API by default; TEXT_API=openai speaks {YANDEX_OPENAI_URL}/chat/completions."""
    if settings.text_api == "native":
        return client
    return _openai_model(settings, auth, stack, generation_limit)


def _openai_model(
    settings: Settings,
    auth: Auth,
    stack: AsyncExitStack,
    generation_limit: GenerationLimit | None = None,
) -> OpenAICompatibleChatModel:
    """A client of {YANDEX_OPENAI_URL}, closed with the stack."""
    from bot.foundation_models.openai_compat import OpenAICompatibleChatModel

    model = OpenAICompatibleChatModel(
        base_url=settings.openai_url,
        auth=auth,
        folder_id=settings.yandex_folder_id,
        data_logging=settings.yandex_data_logging,
        max_concurrent_generations=settings.yandex_max_concurrent_generations,
        timeouts=Timeouts(idle=settings.yandex_idle_timeout),
        observer=YandexMetrics(),
        generation_limit=generation_limit,
    )
    stack.push_async_callback(model.aclose)
    return model


# --- Photos and voice notes ---------------------------------------------------------
def build_vision_model(
    settings: Settings, chat_model: ChatModel, auth: Auth, stack: AsyncExitStack
) -> ChatModel | None:
    """The OpenAI-compatible model for images (None when VISION_MODEL is empty); the chat
    model itself when it already speaks that API."""
    if not settings.vision_model:
        return None
    from bot.foundation_models.openai_compat import OpenAICompatibleChatModel

    if isinstance(chat_model, OpenAICompatibleChatModel):
        return chat_model
    return _openai_model(settings, auth, stack)


def build_speech(settings: Settings, auth: Auth, stack: AsyncExitStack) -> SpeechRecognizer | None:
    """SpeechKit STT with the models' credentials (None when SPEECH_RECOGNITION is off)."""
    if not settings.speech_on:
        return None
    recognizer = SpeechRecognizer(
        base_url=settings.stt_url, auth=auth, folder_id=settings.yandex_folder_id
    )
    stack.push_async_callback(recognizer.aclose)
    return recognizer
