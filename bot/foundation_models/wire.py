"""Pydantic models of the Foundation Models REST wire format (never leave this package).

Parsing is lenient, as the reference (§1) advises: camelCase aliases, unknown fields ignored,
int64 values arrive as JSON strings and are coerced to int, absent fields take defaults and
`null` is accepted where the docs show it.
"""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from pydantic.alias_generators import to_camel

from bot.foundation_models.errors import APIError

_W = TypeVar("_W", bound=BaseModel)


def parse(raw: bytes, into: type[_W]) -> _W:
    """Validate a JSON answer; APIError (naming only the type) when it does not fit."""
    try:
        return into.model_validate_json(raw)
    except ValidationError:
        raise APIError(f"unreadable answer ({into.__name__})") from None


def parse_obj(data: dict[str, Any], into: type[_W]) -> _W:
    try:
        return into.model_validate(data)
    except ValidationError:
        raise APIError(f"unreadable answer ({into.__name__})") from None


class Wire(BaseModel):
    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, extra="ignore", frozen=True
    )


class FunctionCall(Wire):
    name: str = ""
    """The function the model calls."""
    arguments: dict[str, Any] = Field(default_factory=dict)
    """Arguments as a JSON object (numbers come back as floats: it is a protobuf Struct)."""


class ToolCallItem(Wire):
    function_call: FunctionCall | None = None
    """The call; the only kind of tool call so far."""


class ToolCallList(Wire):
    tool_calls: list[ToolCallItem] = Field(default_factory=list)
    """Calls the model asks for, in order."""


class Message(Wire):
    role: str = "assistant"
    """`system` | `user` | `assistant`."""
    text: str | None = None
    """The text (one of text / toolCallList)."""
    tool_call_list: ToolCallList | None = None
    """Function calls asked for by the assistant."""


class Alternative(Wire):
    message: Message = Field(default_factory=Message)
    """The generated message (cumulative text in a stream)."""
    status: str = "ALTERNATIVE_STATUS_UNSPECIFIED"
    """`ALTERNATIVE_STATUS_PARTIAL` | `_FINAL` | `_TRUNCATED_FINAL` | `_CONTENT_FILTER` | ..."""


class CompletionTokensDetails(Wire):
    reasoning_tokens: int = 0
    """Tokens spent on hidden reasoning (int64 as string)."""


class Usage(Wire):
    input_text_tokens: int = 0
    """Prompt tokens (int64 as string)."""
    completion_tokens: int = 0
    """Generated tokens so far (int64 as string; cumulative in a stream)."""
    total_tokens: int = 0
    """Sum of the two (int64 as string)."""
    completion_tokens_details: CompletionTokensDetails | None = None
    """May be `{}` or absent."""


class CompletionResult(Wire):
    alternatives: list[Alternative] = Field(default_factory=list)
    """Always one element today."""
    usage: Usage = Field(default_factory=Usage)
    """Token counts (cumulative in a stream)."""
    model_version: str = ""
    """A date string such as `07.03.2024`."""


class ErrorObject(Wire):
    grpc_code: int | None = None
    """gRPC status code (3 invalid argument, 8 resource exhausted, 16 unauthenticated...)."""
    http_code: int | None = None
    """HTTP status the gateway chose."""
    message: str = ""
    """Human-readable reason."""
    http_status: str = ""
    """HTTP reason phrase."""
    details: list[Any] | None = None
    """Extra details (usually empty)."""


class ErrorBody(Wire):
    """Both shapes: `{"error": {...}}` and `{"error": "text", "code": 3, "message": ...}`."""

    error: ErrorObject | str | None = None
    """The error object, or a plain string (image refusals)."""
    code: int | None = None
    """gRPC code at top level (grpc-gateway form)."""
    message: str = ""
    """Message at top level (grpc-gateway form)."""
    error_message: str = Field(default="", alias="error_message")
    """SpeechKit v1's form: `{"error_code": "BAD_REQUEST", "error_message": "..."}`."""


class StreamLine(Wire):
    """One NDJSON line of a streamed completion: a result, or an error object."""

    result: CompletionResult | None = None
    """The cumulative state of the answer."""
    error: ErrorObject | str | None = None
    """A mid-stream error (framing UNCONFIRMED; handled anyway)."""
    code: int | None = None
    """gRPC code at top level, when the error is a string."""
    message: str = ""
    """Message at top level, when the error is a string."""


class OperationErrorBody(Wire):
    code: int = 0
    """google.rpc.Code of the failure."""
    message: str = ""
    """The reason."""


class Operation(Wire):
    id: str
    """Operation id (`d7q...` text, `fbv...` images)."""
    description: str | None = ""
    """`Async GPT Completion`; empty for images."""
    done: bool | None = False
    """Absent means false."""
    error: OperationErrorBody | None = None
    """Set when the operation failed."""
    response: dict[str, Any] | None = None
    """The result (no `result` wrapper): a CompletionResponse or an ImageGenerationResponse."""


class Token(Wire):
    id: int = 0
    """Token id (int64 as string)."""
    text: str = ""
    """The token's text (`▁` marks a leading space)."""
    special: bool = False
    """Special tokens (`<s>`, `[NL]`); omitted when false."""


class TokenizeResponse(Wire):
    tokens: list[Token] = Field(default_factory=list)
    """The tokens in order."""
    model_version: str = ""
    """Tokenizer version."""


class EmbeddingResponse(Wire):
    embedding: list[float] = Field(default_factory=list)
    """The vector (256 floats)."""
    num_tokens: int = 0
    """Input tokens (int64 as string)."""
    model_version: str = ""
    """Model version."""


class Prediction(Wire):
    label: str = ""
    """A class label."""
    confidence: float = 0.0
    """Probability of the label."""


class ClassificationResponse(Wire):
    predictions: list[Prediction] = Field(default_factory=list)
    """One per label."""
    model_version: str = ""
    """Model version."""
    input_tokens: int = 0
    """Input tokens (int64 as string)."""


class IamTokenResponse(Wire):
    iam_token: str
    """The IAM token (`t1....`): a secret."""
    expires_at: str = ""
    """RFC 3339 expiry."""


class MetadataTokenResponse(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)
    access_token: str
    """The IAM token: a secret."""
    expires_in: int = 3600
    """Seconds until expiry."""


class CompletionResponse(Wire):
    """The sync answer: REST wraps the proto message in `result` (reference §2.3)."""

    result: CompletionResult
    """The completion."""


class ListedModel(Wire):
    id: str = ""
    """The model's URI (`gpt://<folder>/yandexgpt/latest`, `emb://...`)."""


class ModelList(Wire):
    """`GET /v1/models`: `{"object": "list", "data": [{"id", "object", "owned_by"}]}`."""

    data: list[ListedModel] = Field(default_factory=list)
    """The models listed."""
