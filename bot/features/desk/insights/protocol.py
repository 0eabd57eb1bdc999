"""What deferred model jobs need and give: the model's asynchronous mode (`AsyncModel`, and
which models have one), a job's result as its handler sees it, and `NotYet` for a handler
whose target is not there yet."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from bot.plugin.models import ChatMessage, Completion, CompletionOptions, Operation

# Only YandexGPT and Alice AI have an asynchronous mode
# (https://yandex.cloud/en/docs/ai-studio/concepts/generation/models, "Asynchronous mode").
NO_ASYNC = ("llama-lite",)


def supports_async(model: str) -> bool:
    """Whether `completionAsync` takes this model (short name or gpt:// URI)."""
    name = model.split("://", 1)[-1]
    if "://" in model:
        name = name.split("/", 1)[-1]
    base = name.split("/", 1)[0].lower()
    return base.startswith(("yandexgpt", "aliceai", "alice-ai")) and base not in NO_ASYNC


class NotYet(Exception):
    """Raised by a result handler when what the result updates is not there yet (a case's
    card not posted): an expected race, so the job is applied again later and the log
    says so in one INFO line, without a traceback."""


class AsyncModel(Protocol):
    """What deferred jobs need from Foundation Models (FoundationModelsClient has it)."""

    async def completion_async(
        self, messages: Sequence[ChatMessage], *, model: str,
        options: CompletionOptions | None = None,
    ) -> Operation: ...

    async def get_operation(self, operation_id: str) -> Operation: ...

    async def complete(
        self, messages: Sequence[ChatMessage], *, model: str,
        options: CompletionOptions | None = None,
    ) -> Completion: ...


@dataclass(frozen=True, slots=True)
class JobResult:
    job_id: int
    kind: str
    case_id: int | None
    user_id: int | None
    data: dict[str, Any]


Handler = Callable[[JobResult], Awaitable[None]]
