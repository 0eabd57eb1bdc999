"""The Yandex Cloud Foundation Models client (AI Studio), knowing nothing of Telegram or the
database: the names below are its face; its modules are its internals.

- Clients, each on one base (`ApiClient`: its HTTP client, the transport with auth, retries
  and error mapping, `async with`/`aclose()`): `FoundationModelsClient` (the native API:
  completions, streams, operations, images, tokenizer, embeddings), `OpenAICompatibleChatModel`,
  `ResponsesChatModel`, `SpeechRecognizer`, `AsyncSpeechRecognizer`, `SpeechSynthesizer`,
  `VectorStoreClient`.
- Credentials (`Auth` and its kinds), timeouts and retries, the errors a call raises, and the
  plain values requests and answers are made of.

The names load on first use (PEP 562), so importing one module of the package does not load
every client.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.lazyexports import lazy_exports

_WHERE: dict[str, str] = {
    "FoundationModelsClient": "bot.foundation_models.client",
    "OpenAICompatibleChatModel": "bot.foundation_models.openai_compat",
    "ResponsesChatModel": "bot.foundation_models.responses",
    "SpeechRecognizer": "bot.foundation_models.speech",
    "AsyncSpeechRecognizer": "bot.foundation_models.speech_async",
    "SpeechSynthesizer": "bot.foundation_models.speech_synthesis",
    "VectorStoreClient": "bot.foundation_models.vector_stores",
    "ApiClient": "bot.foundation_models.base",
    "Auth": "bot.foundation_models.auth",
    "ApiKeyAuth": "bot.foundation_models.auth",
    "IamTokenAuth": "bot.foundation_models.auth",
    "ServiceAccountKeyAuth": "bot.foundation_models.auth",
    "MetadataAuth": "bot.foundation_models.auth",
    "build_auth": "bot.foundation_models.auth",
    "Timeouts": "bot.foundation_models.transport",
    "RetryPolicy": "bot.foundation_models.transport",
    "NO_RETRY": "bot.foundation_models.transport",
    "FoundationModelsError": "bot.foundation_models.errors",
    "InvalidRequestError": "bot.foundation_models.errors",
    "APIError": "bot.foundation_models.errors",
    "APIStatusError": "bot.foundation_models.errors",
    "BadRequestError": "bot.foundation_models.errors",
    "AuthenticationError": "bot.foundation_models.errors",
    "PermissionDeniedError": "bot.foundation_models.errors",
    "NotFoundError": "bot.foundation_models.errors",
    "RateLimitError": "bot.foundation_models.errors",
    "InternalServerError": "bot.foundation_models.errors",
    "ServiceUnavailableError": "bot.foundation_models.errors",
    "GatewayTimeoutError": "bot.foundation_models.errors",
    "StreamError": "bot.foundation_models.errors",
    "OperationFailedError": "bot.foundation_models.errors",
    "ImageRefusedError": "bot.foundation_models.errors",
    "OperationTimeoutError": "bot.foundation_models.errors",
    "APIConnectionError": "bot.foundation_models.errors",
    "APITimeoutError": "bot.foundation_models.errors",
    "Role": "bot.foundation_models.types",
    "ToolCall": "bot.foundation_models.types",
    "ToolResult": "bot.foundation_models.types",
    "Tool": "bot.foundation_models.types",
    "ChatMessage": "bot.foundation_models.types",
    "CompletionStatus": "bot.foundation_models.types",
    "Usage": "bot.foundation_models.types",
    "CompletionOptions": "bot.foundation_models.types",
    "Completion": "bot.foundation_models.types",
    "Snapshot": "bot.foundation_models.types",
    "Annotation": "bot.foundation_models.types",
    "ChatModel": "bot.foundation_models.types",
    "ImageOptions": "bot.foundation_models.types",
    "Operation": "bot.foundation_models.types",
    "PollPolicy": "bot.foundation_models.types",
    "ImageModel": "bot.foundation_models.types",
    "Embedding": "bot.foundation_models.types",
    "EmbeddingModel": "bot.foundation_models.types",
}

__all__ = [
    "NO_RETRY",
    "APIConnectionError",
    "APIError",
    "APIStatusError",
    "APITimeoutError",
    "Annotation",
    "ApiClient",
    "ApiKeyAuth",
    "AsyncSpeechRecognizer",
    "Auth",
    "AuthenticationError",
    "BadRequestError",
    "ChatMessage",
    "ChatModel",
    "Completion",
    "CompletionOptions",
    "CompletionStatus",
    "Embedding",
    "EmbeddingModel",
    "FoundationModelsClient",
    "FoundationModelsError",
    "GatewayTimeoutError",
    "IamTokenAuth",
    "ImageModel",
    "ImageOptions",
    "ImageRefusedError",
    "InternalServerError",
    "InvalidRequestError",
    "MetadataAuth",
    "NotFoundError",
    "OpenAICompatibleChatModel",
    "Operation",
    "OperationFailedError",
    "OperationTimeoutError",
    "PermissionDeniedError",
    "PollPolicy",
    "RateLimitError",
    "ResponsesChatModel",
    "RetryPolicy",
    "Role",
    "ServiceAccountKeyAuth",
    "ServiceUnavailableError",
    "Snapshot",
    "SpeechRecognizer",
    "SpeechSynthesizer",
    "StreamError",
    "Timeouts",
    "Tool",
    "ToolCall",
    "ToolResult",
    "Usage",
    "VectorStoreClient",
    "build_auth",
]



__getattr__, __dir__ = lazy_exports(__name__, _WHERE)


if TYPE_CHECKING:
    from bot.foundation_models.auth import (
        ApiKeyAuth,
        Auth,
        IamTokenAuth,
        MetadataAuth,
        ServiceAccountKeyAuth,
        build_auth,
    )
    from bot.foundation_models.base import (
        ApiClient,
    )
    from bot.foundation_models.client import (
        FoundationModelsClient,
    )
    from bot.foundation_models.errors import (
        APIConnectionError,
        APIError,
        APIStatusError,
        APITimeoutError,
        AuthenticationError,
        BadRequestError,
        FoundationModelsError,
        GatewayTimeoutError,
        ImageRefusedError,
        InternalServerError,
        InvalidRequestError,
        NotFoundError,
        OperationFailedError,
        OperationTimeoutError,
        PermissionDeniedError,
        RateLimitError,
        ServiceUnavailableError,
        StreamError,
    )
    from bot.foundation_models.openai_compat import (
        OpenAICompatibleChatModel,
    )
    from bot.foundation_models.responses import (
        ResponsesChatModel,
    )
    from bot.foundation_models.speech import (
        SpeechRecognizer,
    )
    from bot.foundation_models.speech_async import (
        AsyncSpeechRecognizer,
    )
    from bot.foundation_models.speech_synthesis import (
        SpeechSynthesizer,
    )
    from bot.foundation_models.transport import (
        NO_RETRY,
        RetryPolicy,
        Timeouts,
    )
    from bot.foundation_models.types import (
        Annotation,
        ChatMessage,
        ChatModel,
        Completion,
        CompletionOptions,
        CompletionStatus,
        Embedding,
        EmbeddingModel,
        ImageModel,
        ImageOptions,
        Operation,
        PollPolicy,
        Role,
        Snapshot,
        Tool,
        ToolCall,
        ToolResult,
        Usage,
    )
    from bot.foundation_models.vector_stores import (
        VectorStoreClient,
    )
