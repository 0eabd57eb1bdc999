"""Long-running operations (`completionAsync`, `imageGenerationAsync`): model and poller.

`GET {operation}/operations/{id}` answers the same Operation JSON on
`operation.api.cloud.yandex.net` and `llm.api.cloud.yandex.net` (reference §3); the host is the
client's `operation_url`. Polling backs off from `PollPolicy.initial` to `max_interval` and stops
at `deadline` (the quota is 50 GET/s per cloud, so a patient cadence matters).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import logging
from collections.abc import Awaitable, Callable

import bot.foundation_models.wire as wire
from bot.clock import loop_time
from bot.foundation_models.errors import OperationFailedError, OperationTimeoutError
from bot.foundation_models.types import Operation, OperationError, PollPolicy

logger = logging.getLogger(__name__)
JPEG_MAGIC = b"\xff\xd8\xff"  # SOI + the first marker


def operation_of(body: wire.Operation) -> Operation:
    error = None
    if body.error is not None and (body.error.code or body.error.message):
        error = OperationError(code=body.error.code, message=body.error.message)
    return Operation(
        id=body.id,
        done=bool(body.done),
        description=body.description or "",
        error=error,
        response=dict(body.response) if body.response is not None else None,
    )


def jpeg_of(operation: Operation) -> bytes:
    """The finished image operation's JPEG (`response.image`, base64), checked by its magic."""
    raise_if_failed(operation)
    encoded = (operation.response or {}).get("image")
    try:
        image = base64.b64decode(encoded if isinstance(encoded, str) else "", validate=True)
    except (binascii.Error, ValueError):
        image = b""
    if not image.startswith(JPEG_MAGIC):
        raise OperationFailedError(
            "the finished operation holds no JPEG image", operation_id=operation.id
        )
    return image


def raise_if_failed(operation: Operation) -> None:
    if operation.error is not None:
        raise OperationFailedError(
            operation.error.message or f"operation failed with code {operation.error.code}",
            operation_id=operation.id,
            code=operation.error.code,
        )


async def poll_until_done(
    get: Callable[[str], Awaitable[Operation]],
    operation_id: str,
    policy: PollPolicy,
    *,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    clock: Callable[[], float] = loop_time,
) -> Operation:
    """Poll until `done`; return the finished operation (which may carry an error).

    Raises OperationTimeoutError when `policy.deadline` passes first.
    """
    started = clock()
    interval = policy.initial
    polls = 0
    while True:
        operation = await get(operation_id)
        polls += 1
        if operation.done:
            logger.debug("operation %s done after %d polls, %.1fs",
                         operation_id, polls, clock() - started)
            return operation
        remaining = policy.deadline - (clock() - started)
        if remaining <= 0:
            raise OperationTimeoutError(
                f"operation {operation_id} still running after {policy.deadline:g}s",
                operation_id=operation_id,
            )
        await sleep(min(interval, remaining))
        interval = min(policy.max_interval, interval * policy.multiplier)
