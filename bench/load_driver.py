"""Simulated users for the load benchmark, driven through the fake Telegram's control API.

Every user message carries a unique marker (``m<chat>x<turn>``); the fake Foundation Models
server echoes it in its answer and records it with the prompt, which is how a model request is
paired with the chat and turn it answers. Private users wait for their answer (a new bot
message: drafts are not messages), think, then write again; group users mention the bot and
wait until the edited answer is complete; image users send ``/image`` and wait for the photo.
Every wait is bounded, so the run ends by itself whatever the bot does.
"""

from __future__ import annotations

import asyncio
import random
import time
from dataclasses import dataclass, field
from typing import Any

import aiohttp

BOT_USERNAME = "fm_test_bot"
TOPICS = ("tides", "ferns", "comets", "bread", "maps", "owls", "glass", "rivers", "bees")


@dataclass
class Turn:
    chat_id: int
    index: int
    kind: str  # "private" | "group" | "image"
    marker: str
    text: str
    sent_at: float = 0.0
    done_at: float | None = None
    answer: dict[str, Any] | None = None  # filled by the report (the bot message seen)


@dataclass
class Plan:
    users: int
    groups: int
    turns: int
    images: int
    ramp: float
    think: tuple[float, float] = (1.0, 4.0)
    turn_timeout: float = 120.0
    words: int = 300
    seed: int = 1
    first_chat: int = 1000  # private chats are first_chat + i, groups -first_chat - g


@dataclass
class Driver:
    """Runs a `Plan` against the fake Telegram at `tg_url`; `turns` holds what was sent."""

    tg_url: str
    plan: Plan
    turns: list[Turn] = field(default_factory=list)
    _counts: dict[int, int] = field(default_factory=dict)
    _changed: asyncio.Event = field(default_factory=asyncio.Event)
    _session: aiohttp.ClientSession | None = None

    async def run(self) -> list[Turn]:
        rng = random.Random(self.plan.seed)
        connector = aiohttp.TCPConnector(limit=32)
        async with aiohttp.ClientSession(connector=connector) as session:
            self._session = session
            watcher = asyncio.create_task(self._watch())
            try:
                jobs = [
                    self._private_user(
                        self.plan.first_chat + i, rng.uniform(0, self.plan.ramp), i, rng
                    )
                    for i in range(self.plan.users)
                ]
                jobs += [
                    self._group(-self.plan.first_chat - g, rng.uniform(0, self.plan.ramp), rng)
                    for g in range(self.plan.groups)
                ]
                await asyncio.gather(*jobs)
            finally:
                watcher.cancel()
                self._session = None
        return self.turns

    # -- control API --------------------------------------------------------------------------
    async def _post(self, action: str, body: dict[str, Any]) -> dict[str, Any]:
        assert self._session is not None
        async with self._session.post(f"{self.tg_url}/_control/{action}", json=body) as resp:
            resp.raise_for_status()
            result: dict[str, Any] = await resp.json()
            return result

    async def chat_state(self, chat_id: int) -> dict[str, Any]:
        assert self._session is not None
        async with self._session.get(f"{self.tg_url}/_control/chat/{chat_id}") as resp:
            resp.raise_for_status()
            result: dict[str, Any] = await resp.json()
            return result

    async def _watch(self) -> None:
        """Bot-message counts of every chat, refreshed 4 times a second (one cheap request)."""
        assert self._session is not None
        while True:
            async with self._session.get(f"{self.tg_url}/_control/chats") as resp:
                data = await resp.json()
            self._counts = {c["chat_id"]: c["bot_messages"] for c in data["chats"]}
            self._changed.set()
            self._changed = asyncio.Event()
            await asyncio.sleep(0.25)

    async def _send(self, turn: Turn, **extra: Any) -> None:
        self.turns.append(turn)
        turn.sent_at = time.time()
        await self._post("user_message", {"chat_id": turn.chat_id, "text": turn.text, **extra})

    # -- users --------------------------------------------------------------------------------
    def _text(self, chat_id: int, index: int, rng: random.Random) -> tuple[str, str]:
        marker = f"m{chat_id}x{index}"
        topic = rng.choice(TOPICS)
        return marker, f"{marker} tell me about {topic} number {rng.randint(1, 999)}"

    async def _private_user(
        self, chat_id: int, start: float, number: int, rng: random.Random
    ) -> None:
        await asyncio.sleep(start)
        seen = 0
        for index in range(1, self.plan.turns + 1):
            marker, text = self._text(chat_id, index, rng)
            turn = Turn(chat_id, index, "private", marker, text)
            await self._send(turn)
            if await self._wait_count(chat_id, seen + 1, turn.sent_at):
                turn.done_at = time.time()
            seen = self._counts.get(chat_id, seen)
            await asyncio.sleep(rng.uniform(*self.plan.think))
        if number < self.plan.images:
            marker = f"m{chat_id}x{self.plan.turns + 1}"
            turn = Turn(chat_id, self.plan.turns + 1, "image", marker, f"/image {marker} a fox")
            await self._send(turn)
            if await self._wait_state(chat_id, turn.sent_at, _has_photo):
                turn.done_at = time.time()

    async def _group(self, chat_id: int, start: float, rng: random.Random) -> None:
        await asyncio.sleep(start)
        title = f"load group {-chat_id}"
        for index in range(1, self.plan.turns + 1):
            marker, text = self._text(chat_id, index, rng)
            turn = Turn(chat_id, index, "group", marker, f"@{BOT_USERNAME} {text}")
            member = 900_000 + (-chat_id) * 10 + index
            await self._send(
                turn, chat_type="group", title=title, user={"id": member, "first_name": "Ann"}
            )
            if await self._wait_state(chat_id, turn.sent_at, self._complete):
                turn.done_at = time.time()
            await asyncio.sleep(rng.uniform(*self.plan.think))

    def _complete(self, message: dict[str, Any]) -> bool:
        edits = message["edits"]
        text = edits[-1]["text"] if edits else message["text"]
        return bool(text) and len(text.split()) >= self.plan.words

    async def _wait_count(self, chat_id: int, count: int, since: float) -> bool:
        deadline = since + self.plan.turn_timeout
        while self._counts.get(chat_id, 0) < count:
            if time.time() > deadline:
                return False
            changed = self._changed
            await changed.wait()
        return True

    async def _wait_state(self, chat_id: int, since: float, done: Any) -> bool:
        """Poll the chat (once a second) until a bot message sent after `since` is `done`."""
        deadline = since + self.plan.turn_timeout
        while time.time() < deadline:
            await asyncio.sleep(1.0)
            state = await self.chat_state(chat_id)
            recent = [m for m in state["messages"] if m["from_bot"] and m["sent_at"] >= since]
            if any(done(m) for m in recent if not m["deleted"]):
                return True
        return False


def _has_photo(message: dict[str, Any]) -> bool:
    return bool(message["has_photo"])
