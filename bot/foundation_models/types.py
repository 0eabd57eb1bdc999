"""Public value types of the Foundation Models client.

These are what the rest of fmbot sees: plain frozen dataclasses and a `ChatModel` protocol.
Wire (pydantic, camelCase) models live in `wire.py` and never leave the package.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from bot.foundation_models.transport import RetryPolicy


class Role(StrEnum):
    """Who speaks in a `ChatMessage`."""

    SYSTEM = "system"
    USER = "user"
    ASSISTANT = "assistant"


@dataclass(frozen=True, slots=True)
class ToolCall:
    """A function call the model asks for; `arguments` is a JSON object.

    Natively (`toolCallList`) a call has no id: its result is matched by name and order. Over
    the OpenAI-compatible API `id` is the call's id (YandexGPT repeats the function name,
    Qwen and Gemma send `chatcmpl-tool-...`), sent back as the result's `tool_call_id`."""

    name: str
    arguments: dict[str, object] = field(default_factory=dict)
    id: str | None = None


@dataclass(frozen=True, slots=True)
class ToolResult:
    """The result of a tool call, sent back in a user message (`toolResultList`) natively,
    or as a `role: tool` message with `tool_call_id` = `call_id` (the name when None)."""

    name: str
    content: str
    call_id: str | None = None


@dataclass(frozen=True, slots=True)
class Tool:
    """A function the model may call; `parameters` is a JSON Schema."""

    name: str
    description: str = ""
    parameters: dict[str, object] = field(default_factory=dict)
    strict: bool | None = None


@dataclass(frozen=True, slots=True)
class ChatMessage:
    """One message; ordinary chat uses only `role` and `text`. A message carrying
    `tool_calls` (assistant) or `tool_results` (user) is sent without text natively (the
    fields are a oneof); the OpenAI-compatible wire keeps an assistant's text beside its
    calls. `images` (JPEG bytes) go only through the OpenAI-compatible API, as `image_url`
    parts after the text."""

    role: Role
    text: str
    tool_calls: tuple[ToolCall, ...] = ()
    tool_results: tuple[ToolResult, ...] = ()
    images: tuple[bytes, ...] = ()


class CompletionStatus(StrEnum):
    """`ALTERNATIVE_STATUS_*` without the prefix."""

    UNSPECIFIED = "UNSPECIFIED"
    PARTIAL = "PARTIAL"
    FINAL = "FINAL"
    TRUNCATED_FINAL = "TRUNCATED_FINAL"  # maxTokens reached
    CONTENT_FILTER = "CONTENT_FILTER"  # the answer was withheld by moderation
    TOOL_CALLS = "TOOL_CALLS"

    @property
    def is_final(self) -> bool:
        return self not in (CompletionStatus.PARTIAL, CompletionStatus.UNSPECIFIED)


@dataclass(frozen=True, slots=True)
class Usage:
    input_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0
    reasoning_tokens: int = 0


@dataclass(frozen=True, slots=True)
class CompletionOptions:
    temperature: float | None = None
    max_tokens: int | None = None
    # "DISABLED" or "ENABLED_HIDDEN" (reasoningOptions.mode); None = the model's default.
    reasoning_mode: str | None = None
    # "low" | "medium" | "high" (OpenAI-compatible `reasoning_effort`, gpt-oss); None = none.
    reasoning_effort: str | None = None
    # Structured output: ask for any JSON object, or for JSON matching a schema (oneof).
    json_object: bool = False
    json_schema: dict[str, object] | None = None
    # Function calling (native API): tools, toolChoice mode ("AUTO" | "NONE" | "REQUIRED")
    # or a function the model must call, and parallelToolCalls.
    tools: tuple[Tool, ...] = ()
    tool_choice: str | None = None
    tool_choice_function: str | None = None
    parallel_tool_calls: bool | None = None
    # Built-in tools of the Responses API, as sent (`{"type": "web_search", ...}`,
    # `{"type": "file_search", ...}`): Yandex runs them itself. Other wires ignore them.
    hosted_tools: tuple[dict[str, Any], ...] = ()


@dataclass(frozen=True, slots=True)
class Completion:
    """A finished (non-streamed) completion."""

    text: str
    status: CompletionStatus
    usage: Usage
    model_version: str = ""
    tool_calls: tuple[ToolCall, ...] = ()


@dataclass(frozen=True, slots=True)
class Snapshot:
    """One state of a streamed answer: the whole text so far (never a delta). The final
    snapshot of a round that ends in function calls has status TOOL_CALLS and the calls."""

    text: str
    status: CompletionStatus
    usage: Usage = field(default_factory=Usage)
    model_version: str = ""
    tool_calls: tuple[ToolCall, ...] = ()
    # A built-in tool running now ("web_search", "file_search"): a status line while it runs.
    activity: str = ""
    # The final snapshot's sources (url_citation / file_citation annotations) and the
    # built-in tools that ran, each with its outcome ("web_search": "completed" | "failed").
    annotations: tuple[Annotation, ...] = ()
    hosted_calls: tuple[tuple[str, str], ...] = ()

    @property
    def is_final(self) -> bool:
        return self.status.is_final


@dataclass(frozen=True, slots=True)
class Annotation:
    """A source the answer cites: `url_citation` (web search: only `url` is filled, the title
    may be "") or `file_citation` (file search: `file_id`, `filename`)."""

    kind: str
    url: str = ""
    title: str = ""
    file_id: str = ""
    filename: str = ""


class ChatModel(Protocol):
    """What the conversation core needs from a text model (native or OpenAI-compatible).

    `model` is a short name (`yandexgpt-lite`, `yandexgpt/rc`) or a full URI.
    `stream` is an async generator: close it (`contextlib.aclosing`) to stop generation
    and release the HTTP response at once.
    """

    async def complete(
        self,
        messages: Sequence[ChatMessage],
        *,
        model: str,
        options: CompletionOptions | None = None,
    ) -> Completion: ...

    def stream(
        self,
        messages: Sequence[ChatMessage],
        *,
        model: str,
        options: CompletionOptions | None = None,
    ) -> AsyncGenerator[Snapshot, None]: ...

    async def count_tokens(self, messages: Sequence[ChatMessage], *, model: str) -> int: ...


@dataclass(frozen=True, slots=True)
class ImageOptions:
    """YandexART generationOptions; `aspect_ratio` is (width ratio, height ratio)."""

    aspect_ratio: tuple[int, int] = (1, 1)
    seed: int | None = None
    mime_type: str = "image/jpeg"


@dataclass(frozen=True, slots=True)
class OperationError:
    code: int
    message: str


@dataclass(frozen=True, slots=True)
class Operation:
    """A long-running operation (`completionAsync`, `imageGenerationAsync`)."""

    id: str
    done: bool = False
    description: str = ""
    error: OperationError | None = None
    # The raw `response` object once done (e.g. {"image": "<base64>", "modelVersion": ...}).
    response: dict[str, object] | None = None


@dataclass(frozen=True, slots=True)
class PollPolicy:
    """How to poll an operation: back off from `initial` by `multiplier` up to `max_interval`,
    give up after `deadline` seconds in all."""

    initial: float = 1.0
    multiplier: float = 1.5
    max_interval: float = 5.0
    deadline: float = 300.0


class ImageModel(Protocol):
    """What durable image jobs need from YandexART (operations) and Alice AI ART (sync)."""

    async def start_image_generation(
        self, prompt: str, *, model: str, options: ImageOptions | None = None
    ) -> Operation:
        """Submit; raises ImageRefusedError on a moderation refusal (HTTP 400 at submit)."""
        ...

    async def generate_image(
        self, prompt: str, *, model: str, options: ImageOptions | None = None
    ) -> bytes:
        """The synchronous Images API (Alice AI ART): the picture's bytes as Yandex sent
        them; raises ImageRefusedError on a moderation refusal."""
        ...

    async def get_operation(self, operation_id: str) -> Operation: ...

    async def cancel_operation(self, operation_id: str) -> Operation: ...

    async def wait_for_image(
        self, operation_id: str, *, policy: PollPolicy | None = None
    ) -> bytes:
        """Poll until done; return the JPEG bytes (checked to be a JPEG).

        Raises ImageRefusedError, OperationFailedError or OperationTimeoutError."""
        ...


@dataclass(frozen=True, slots=True)
class Token:
    """One token of the tokenizer (`special` for markers such as `<s>` and `[NL]`)."""

    id: int
    text: str
    special: bool = False


@dataclass(frozen=True, slots=True)
class Prediction:
    """A classifier's confidence in one label."""

    label: str
    confidence: float


@dataclass(frozen=True, slots=True)
class Embedding:
    """One `textEmbedding` answer: the vector, the input's token count, the model version."""

    vector: list[float]
    num_tokens: int = 0
    model_version: str = ""


class EmbeddingModel(Protocol):
    async def embedding(
        self, text: str, *, model: str, retry: RetryPolicy | None = None
    ) -> Embedding: ...
