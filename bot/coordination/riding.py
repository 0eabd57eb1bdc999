"""Calls that may go a moment late ride with the next call of the process: one round trip.

A replica makes many calls to Redis that nobody is waiting on: lease and slot renewals, the
census, answers told to the message window, the chat sweep. Each such call may be sent up to
`within` seconds late. Meanwhile, any other call of the process takes every waiting call
along in one pipeline: one write and one read, so one round trip for all of them. When the
earliest deadline comes and nothing went, what is waiting goes alone (together).

A call that is waited on (`within` 0) and finds nothing waiting goes exactly as before, a
single command. Pipelines here are not transactions: each call stays the one atomic script it
was, and the calls of a batch succeed or fail one by one.
https://redis.io/docs/latest/develop/use/pipelining/
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from redis import exceptions as redis_errors
from redis.asyncio import Redis
from redis.commands.core import AsyncScript

from bot.coordination.protocol import CoordinationUnavailableError


def unavailable(what: str, exc: BaseException) -> CoordinationUnavailableError:
    """What a caller sees of a Redis failure (connection lost or the server refusing)."""
    if isinstance(exc, redis_errors.ConnectionError | redis_errors.TimeoutError | OSError):
        return CoordinationUnavailableError(f"Redis unreachable ({what}): {exc}")
    return CoordinationUnavailableError(f"Redis failed ({what}): {exc}")


@dataclass(eq=False)
class Call:
    """One command: a script with its keys and arguments, or a plain command (`script` None:
    `keys` is the whole command). `args` builds the arguments when the call is sent."""

    what: str
    script: AsyncScript | None
    keys: Sequence[Any]
    args: Callable[[], list[Any]]
    future: asyncio.Future[Any] = field(default_factory=lambda: _future())
    sent: list[Any] = field(default_factory=list)

    def command(self) -> tuple[Any, ...]:
        if self.script is None:
            return tuple(self.keys)
        self.sent = self.args()
        return self.again()

    def again(self) -> tuple[Any, ...]:
        """The script's call with the arguments it was sent with."""
        assert self.script is not None
        return ("EVALSHA", self.script.sha, len(self.keys), *self.keys, *self.sent)

    def answer(self, answer: Any) -> None:
        """The caller's answer: the result, or the error Redis gave for this call."""
        if self.future.done():  # a caller that stopped waiting: the call went anyway
            return
        if isinstance(answer, BaseException):
            self.future.set_exception(unavailable(self.what, answer))
        else:
            self.future.set_result(answer)


def _future() -> asyncio.Future[Any]:
    return asyncio.get_running_loop().create_future()


class Rides:
    """The process's calls to one Redis, batched as the module docstring says."""

    def __init__(self, redis: Redis) -> None:
        self.redis = redis
        self.batches = 0  # pipelines sent (several calls in one round trip)
        self._waiting: list[Call] = []
        self._deadline = math.inf
        self._timer: asyncio.TimerHandle | None = None
        self._flying: set[asyncio.Task[None]] = set()

    async def run(
        self,
        what: str,
        script: AsyncScript | None,
        keys: Sequence[Any],
        args: Callable[[], list[Any]] = list,
        *,
        within: float = 0.0,
    ) -> Any:
        if within <= 0 and not self._waiting:
            return await self._alone(what, script, keys, args)
        call = Call(what, script, keys, args)
        self._waiting.append(call)
        if within <= 0:
            self._go()
        else:
            loop = asyncio.get_running_loop()
            deadline = loop.time() + within
            if deadline < self._deadline:
                if self._timer is not None:
                    self._timer.cancel()
                self._deadline = deadline
                self._timer = loop.call_at(deadline, self._go)
        # A caller cancelled here leaves its call to go with the others; nobody reads it.
        return await call.future

    async def aclose(self) -> None:
        """Send what is waiting now, and wait for every batch in flight."""
        if self._waiting:
            self._go()
        if self._flying:
            await asyncio.gather(*self._flying, return_exceptions=True)

    async def _alone(
        self, what: str, script: AsyncScript | None, keys: Sequence[Any],
        args: Callable[[], list[Any]],
    ) -> Any:
        try:
            if script is None:
                return await self.redis.execute_command(*keys)  # type: ignore[no-untyped-call]
            # Loads the script again when the server forgot it (NOSCRIPT, e.g. a restart).
            return await script(keys=list(keys), args=args())
        except redis_errors.RedisError as exc:
            raise unavailable(what, exc) from exc

    def _go(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._deadline = math.inf
        batch, self._waiting = self._waiting, []
        if not batch:
            return
        # A task of its own: a caller cancelled meanwhile must not take the others' answers.
        task = asyncio.get_running_loop().create_task(self._fly(batch), name="redis-batch")
        self._flying.add(task)
        task.add_done_callback(self._flying.discard)

    async def _fly(self, batch: list[Call]) -> None:
        self.batches += 1
        answers = await self._pipeline([call.command() for call in batch])
        forgot = []
        for call, answer in zip(batch, answers, strict=True):
            if isinstance(answer, redis_errors.NoScriptError) and call.script is not None:
                forgot.append(call)
            else:
                call.answer(answer)
        if forgot:
            # The server forgot scripts (restarted, SCRIPT FLUSH): redis-py reloads them only
            # for single calls. Load them and run the calls again, in one more round trip.
            scripts = {call.script.sha: call.script for call in forgot if call.script}
            loads = [("SCRIPT LOAD", script.script) for script in scripts.values()]
            answers = await self._pipeline([*loads, *(c.again() for c in forgot)])
            for call, answer in zip(forgot, answers[len(loads):], strict=True):
                call.answer(answer)

    async def _pipeline(self, commands: list[tuple[Any, ...]]) -> list[Any]:
        """Each command's answer or error; the connection's error for all when it failed."""
        pipe = self.redis.pipeline(transaction=False)
        for command in commands:
            pipe.execute_command(*command)
        try:
            return await pipe.execute(raise_on_error=False)
        except Exception as exc:  # the connection: every call of the batch failed alike
            return [exc] * len(commands)
