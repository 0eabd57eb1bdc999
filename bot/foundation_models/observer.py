"""What the client reports about its work, for metrics: a protocol the caller implements
(bot/metrics does, with Prometheus), so this package knows nothing of metrics libraries.

Endpoints are short fixed names ("completion", "tokenize", "operation", "chat.completions"...);
errors are exception class names; reasons are HTTP statuses or "connection".
"""

from __future__ import annotations

from typing import Protocol


class Observer(Protocol):
    def request(self, endpoint: str) -> None:
        """An HTTP request is sent (each retry counts again)."""

    def retry(self, endpoint: str, reason: str) -> None:
        """A request will be retried: `reason` is the status ("429", "503") or "connection"."""

    def failure(self, endpoint: str, error: str) -> None:
        """A call failed for good with the exception class `error`."""

    def generation_wait(self, seconds: float) -> None:
        """A generation waited this long for the concurrency cap."""

    def usage(self, model: str, input_tokens: int, output_tokens: int) -> None:
        """A generation finished and the server counted these tokens."""


class NullObserver:
    """Reports nowhere (the default)."""

    def request(self, endpoint: str) -> None:
        return None

    def retry(self, endpoint: str, reason: str) -> None:
        return None

    def failure(self, endpoint: str, error: str) -> None:
        return None

    def generation_wait(self, seconds: float) -> None:
        return None

    def usage(self, model: str, input_tokens: int, output_tokens: int) -> None:
        return None


def endpoint_of(path: str) -> str:
    """"/foundationModels/v1/completion" -> "completion", "/operations/<id>" -> "operation",
    "/v1/chat/completions" -> "chat.completions"."""
    if "/operations/" in path:
        return "operation"
    if path.endswith("/chat/completions"):
        return "chat.completions"
    return path.rsplit("/", 1)[-1] or "root"


def model_label(model: str) -> str:
    """A model URI without its folder ("gpt://b1g.../yandexgpt/latest" -> "yandexgpt/latest")."""
    if "://" in model:
        return model.split("://", 1)[1].split("/", 1)[-1]
    return model
