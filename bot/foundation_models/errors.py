"""The Foundation Models error tree.

    FoundationModelsError
     ├── APIError                      the service answered, or was expected to
     │    ├── APIStatusError           an HTTP error status (carries status, grpc_code, request_id)
     │    │    ├── BadRequestError              400
     │    │    ├── AuthenticationError          401
     │    │    ├── PermissionDeniedError        403
     │    │    ├── NotFoundError                404
     │    │    ├── RateLimitError               429 (retry_after in seconds, when sent)
     │    │    ├── InternalServerError          500
     │    │    ├── ServiceUnavailableError      503 (and other 5xx)
     │    │    └── GatewayTimeoutError          504
     │    ├── StreamError              a stream broke its protocol: malformed line, mid-stream
     │    │                            error object, or ended without a final status
     │    ├── OperationFailedError     an operation finished with `error`
     │    │    └── ImageRefusedError   YandexART moderation refused the prompt
     │    └── OperationTimeoutError    an operation was still running at the deadline
     ├── APIConnectionError            the request never got an answer
     │    └── APITimeoutError          connect / first byte / idle-between-chunks timeout
     └── InvalidRequestError           caught before sending (prompt too long, bad model URI)

Messages never contain credentials.
"""

from __future__ import annotations


class FoundationModelsError(Exception):
    """Base of every error the Foundation Models client raises."""

    #: Text a stream delivered before it failed ("" unless raised mid-stream).
    partial_text: str = ""


class InvalidRequestError(FoundationModelsError, ValueError):
    """The request was rejected locally, before anything was sent."""


class APIError(FoundationModelsError):
    def __init__(self, message: str, *, request_id: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.request_id = request_id


class APIStatusError(APIError):
    def __init__(
        self,
        message: str,
        *,
        status_code: int,
        grpc_code: int | None = None,
        request_id: str | None = None,
    ) -> None:
        super().__init__(message, request_id=request_id)
        self.status_code = status_code
        self.grpc_code = grpc_code

    def __str__(self) -> str:
        suffix = f" (request id {self.request_id})" if self.request_id else ""
        return f"HTTP {self.status_code}: {self.message}{suffix}"


class BadRequestError(APIStatusError):
    pass


class AuthenticationError(APIStatusError):
    pass


class PermissionDeniedError(APIStatusError):
    pass


class NotFoundError(APIStatusError):
    pass


class RateLimitError(APIStatusError):
    def __init__(
        self,
        message: str,
        *,
        status_code: int = 429,
        grpc_code: int | None = None,
        request_id: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(
            message, status_code=status_code, grpc_code=grpc_code, request_id=request_id
        )
        self.retry_after = retry_after


class InternalServerError(APIStatusError):
    pass


class ServiceUnavailableError(APIStatusError):
    pass


class GatewayTimeoutError(APIStatusError):
    pass


class StreamError(APIError):
    """The stream broke its protocol; `partial_text` is what arrived before it broke."""

    def __init__(self, message: str, *, partial_text: str = "", request_id: str | None = None):
        super().__init__(message, request_id=request_id)
        self.partial_text = partial_text


class ResponseTooLargeError(APIError):
    """An answer's body was longer than its caller's cap: it was not read whole."""


class OperationFailedError(APIError):
    """An operation finished with an error; `code` is its gRPC code."""

    def __init__(self, message: str, *, operation_id: str, code: int | None = None) -> None:
        super().__init__(message)
        self.operation_id = operation_id
        self.code = code


class ImageRefusedError(OperationFailedError):
    """YandexART would not draw this prompt (moderation); `reason` is the service's words."""

    def __init__(self, reason: str, *, operation_id: str = "", code: int | None = None) -> None:
        super().__init__(reason, operation_id=operation_id, code=code)
        self.reason = reason


class OperationTimeoutError(APIError):
    def __init__(self, message: str, *, operation_id: str) -> None:
        super().__init__(message)
        self.operation_id = operation_id


class APIConnectionError(FoundationModelsError):
    """No answer: DNS, refused connection, reset, TLS."""


class APITimeoutError(APIConnectionError):
    """`phase` is "connect", "first_byte" or "idle"."""

    def __init__(self, message: str, *, phase: str) -> None:
        super().__init__(message)
        self.phase = phase
