"""HTTP error responses -> the error tree (errors.py).

Two body forms exist (reference §8.2): the gateway's
`{"error": {"grpcCode", "httpCode", "message", "httpStatus", "details"}}` and a top-level string
`{"error": "text", "code": 3, "message": "...", "details": []}` (YandexART refusals). Anything
else (HTML from a proxy, an empty body) falls back to the reason phrase; bodies are never echoed
whole, so a 2 MB answer or an echoed header cannot end up in a message.
"""

from __future__ import annotations

import email.utils
import time

from pydantic import ValidationError

import bot.foundation_models.errors as errors
from bot.foundation_models.wire import ErrorBody, ErrorObject

_BY_STATUS: dict[int, type[errors.APIStatusError]] = {
    400: errors.BadRequestError,
    401: errors.AuthenticationError,
    403: errors.PermissionDeniedError,
    404: errors.NotFoundError,
    500: errors.InternalServerError,
    503: errors.ServiceUnavailableError,
    504: errors.GatewayTimeoutError,
}
_MAX_MESSAGE = 500

# YandexART's refusal text (reference §4); matched case-insensitively on a fragment.
REFUSAL_FRAGMENT = "not possible to generate an image from this request"


def parse_error_body(body: bytes) -> tuple[str, int | None]:
    """(message, grpc_code) from either body form; ("", None) when it is neither."""
    try:
        parsed = ErrorBody.model_validate_json(body)
    except ValidationError:
        return "", None
    return describe(parsed.error, parsed.code, parsed.message or parsed.error_message)


def describe(
    error: ErrorObject | str | None, code: int | None, message: str
) -> tuple[str, int | None]:
    """Message and gRPC code from an `error` field in either form plus top-level fields."""
    if isinstance(error, ErrorObject):
        return error.message or error.http_status or message, error.grpc_code
    if isinstance(error, str):
        text = error if not message or message == error else f"{error}: {message}"
        return text, code
    return message, code


def retry_after_seconds(value: str | None, *, now: float | None = None) -> float | None:
    """Retry-After as seconds: delta-seconds or an HTTP date; None when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def status_error(
    status: int,
    body: bytes,
    *,
    reason: str = "",
    request_id: str | None = None,
    retry_after: str | None = None,
) -> errors.APIStatusError:
    """The error for an HTTP error status with this body."""
    message, grpc_code = parse_error_body(body)
    message = (message or reason or "error")[:_MAX_MESSAGE]
    if status == 429:
        return errors.RateLimitError(
            message,
            grpc_code=grpc_code,
            request_id=request_id,
            retry_after=retry_after_seconds(retry_after),
        )
    cls = _BY_STATUS.get(status)
    if cls is None:
        cls = errors.ServiceUnavailableError if status >= 500 else errors.APIStatusError
    return cls(message, status_code=status, grpc_code=grpc_code, request_id=request_id)


def is_refusal(message: str) -> bool:
    return REFUSAL_FRAGMENT in message.lower() or "ethic" in message.lower()
