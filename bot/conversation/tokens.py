"""Token counts for the conversation core: the tokenizer where it matters, estimates elsewhere.

- A question estimated at most `threshold` tokens is not sent to the tokenizer: its estimate
  is stored. Overestimating a short message costs a few tokens of context; the request it
  saves is a round trip and a share of the tokenizer's 50-requests-per-second quota per turn.
- A longer one is counted alongside the stream (`Future`), so the first token never waits,
  unless the caller awaits it first (a long text the estimate might cut needlessly).
- A system prompt is counted once per (model, prompt), in the background; until then the
  estimate stands in.
- Any tokenizer failure or a count slower than `timeout` falls back to `estimate_tokens`.
"""

from __future__ import annotations

import asyncio
import logging

from bot.foundation_models.errors import FoundationModelsError
from bot.foundation_models.types import ChatMessage, ChatModel, Role
from bot.prompting import estimate_tokens

logger = logging.getLogger(__name__)


class TokenCounter:
    def __init__(self, model: ChatModel, *, timeout: float, threshold: int) -> None:
        self._model = model
        self._timeout = timeout
        self._threshold = threshold
        self._system: dict[tuple[str, str], int] = {}
        self._counting: set[tuple[str, str]] = set()
        self._background: set[asyncio.Task[None]] = set()

    async def count(self, text: str, model: str) -> int:
        """The tokenizer's count of `text` as one user message (role markers and framing
        included, so it overestimates a little); the estimate when the tokenizer fails."""
        try:
            async with asyncio.timeout(self._timeout):
                return await self._model.count_tokens([ChatMessage(Role.USER, text)], model=model)
        except (FoundationModelsError, TimeoutError):
            return estimate_tokens(text)

    def short_count(self, text: str) -> int | None:
        """The count stored for a question short enough not to be counted; None otherwise."""
        estimate = estimate_tokens(text)
        return estimate if estimate <= self._threshold else None

    def question(self, text: str, model: str) -> tuple[int, asyncio.Future[int]]:
        """The estimate now, and the count to store (already done for a short text)."""
        estimate = estimate_tokens(text)
        if estimate <= self._threshold:
            done: asyncio.Future[int] = asyncio.get_running_loop().create_future()
            done.set_result(estimate)
            return estimate, done
        return estimate, asyncio.ensure_future(self.count(text, model))

    def system(self, model: str, prompt: str) -> int | None:
        """The system prompt's count if known; starts counting it in the background if not."""
        key = (model, prompt)
        if key not in self._system and key not in self._counting:
            self._counting.add(key)
            task = asyncio.create_task(self._count_system(key))
            self._background.add(task)
            task.add_done_callback(self._background.discard)
        return self._system.get(key)

    def known_system(self, model: str, prompt: str) -> int:
        return self._system.get((model, prompt)) or estimate_tokens(prompt)

    async def _count_system(self, key: tuple[str, str]) -> None:
        try:
            self._system[key] = await self.count(key[1], key[0])
        finally:
            self._counting.discard(key)


async def settle(count: asyncio.Future[int] | None, grace: float) -> int | None:
    """The count if it is there within `grace` seconds; a slower one is cancelled (None)."""
    if count is None:
        return None
    if not count.done() and grace > 0:
        await asyncio.wait({count}, timeout=grace)
    if not count.done():
        count.cancel()
        return None
    if count.cancelled():
        return None
    if (problem := count.exception()) is not None:
        logger.warning("counting the question's tokens failed: %r", problem)
        return None
    return count.result()
