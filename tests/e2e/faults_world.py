"""One bot shared by many fault scenarios that run at the same time, in the test's process.

The bot runs in the test's process (`E2E(in_process=True)`: `async with App`), against the
fakes served on loopback, whose faults are faults of the wire. The scenarios that do not kill
the bot share one: ``@shared("name")`` turns ``async def test_x(w: World)`` into a test of
the ``world`` fixture (tests/e2e/conftest.py). When that fixture starts the bot it launches
*every* selected shared scenario as a task at once (those marked ``last`` after the others);
each test then awaits its own task, so a
failure is reported by the scenario it belongs to and the whole set takes about as long as its
slowest member.

Scenarios stay independent because each one uses its own chats and its own scripts on the fake
Foundation Models server: ``KeyedModel`` answers a completion or an image request by a *tag*
found in the request's last user message (``w.tag(chat_id)``, put in the user's text; on the
native wire and the Responses wire) instead of the fake's shared FIFO queues, so concurrent
scenarios never consume each other's replies or faults. It also counts, per tag, the
requests that passed authentication (``served``).

The bot authenticates with a service-account key generated here (IAM tokens from the fake,
refreshed when the fake expires them) and gives a streamed answer up after 4 s of silence.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from bot.testing.yandex import payloads as fm_payloads
from bot.testing.yandex.exchange import Response
from bot.testing.yandex.responses import messages_of
from bot.testing.yandex.scripts import Reply
from tests.e2e.faults_table import scenario
from tests.e2e.harness import E2E
from tests.fakes.yandex.server import FakeFoundationModels
from tests.telegram.alltexts import every_text

EN = {key: variants["en"] for key, variants in every_text().items()}  # the features' too
SHARED_ENV = {
    # 4 s: the bot, its fakes and every scenario share one event loop (in process), which a
    # busy machine can hold up for a second or two; 2 s gave normal streams up as stalls
    # (six workers beside the process tests, 2026-11-27). The stall scenario stalls for 10.
    "YANDEX_IDLE_TIMEOUT": "4",
    # A flood must be visible within a test's time: five messages a minute per user.
    "RATE_LIMIT_PER_MINUTE": "5",
}
Body = Callable[["World"], Awaitable[None]]
SHARED: dict[str, Body] = {}
LAST: set[str] = set()
SCENARIO_TIMEOUT = 120.0


def template(key: str) -> re.Pattern[str]:
    """A user-facing text with its ``{placeholders}`` and plural forms (``{n|one|many}``)
    matching anything."""
    parts = re.split(r"\{[a-z_]+(?:\|[^{}]*)?\}", EN[key])
    return re.compile(".+?".join(re.escape(part) for part in parts), re.DOTALL)


@dataclass
class HttpFault:
    """An HTTP error answer instead of the completion (the fake's error body forms)."""

    status: int
    retry_after: str | None = None
    message: str = ""


@dataclass
class Script:
    """What the fake model does for one tag: HTTP errors first (one per request), then
    ``reply`` (None: the fake's echo); ``image``: None (draw it), "refuse" (HTTP 400 at
    submit), "refuse_in_operation" or "fail" (the operation ends with an error)."""

    reply: Reply | None = None
    errors: list[HttpFault] = field(default_factory=list)
    image: str | None = None


class KeyedModel:
    """Scripts of the fake Foundation Models keyed by a tag in the last user message."""

    def __init__(self, fm: FakeFoundationModels) -> None:
        self.fm = fm
        self.scripts: dict[str, Script] = {}
        self.served: Counter[str] = Counter()
        self._completion = fm.completion
        self._reply_for = fm.reply_for
        self._start_image = fm._start_image_operation
        self._responses = fm.responses
        # Instance attributes shadow the fake's methods (its dispatcher looks them up on self).
        setattr(fm, "completion", self._keyed_completion)  # noqa: B010
        setattr(fm, "responses", self._keyed_responses)  # noqa: B010
        setattr(fm, "reply_for", self._keyed_reply_for)  # noqa: B010
        setattr(fm, "_start_image_operation", self._keyed_image)  # noqa: B010

    def _tag_of(self, messages: Any, key: str = "text") -> str | None:
        texts = [m.get(key) for m in messages or [] if isinstance(m, dict)]
        users = [m for m in messages or [] if isinstance(m, dict) and m.get("role") == "user"]
        last = str(users[-1].get(key) or "") if users else " ".join(map(str, texts))
        return next((tag for tag in self.scripts if tag in last), None)

    async def _keyed_completion(self, body: dict[str, Any]) -> Response:
        tag = self._tag_of(body.get("messages"))
        if tag is not None:
            self.served[tag] += 1
            errors = self.scripts[tag].errors
            if errors:
                fault = errors.pop(0)
                headers = {"Retry-After": fault.retry_after} if fault.retry_after else None
                message = fault.message or f"injected {fault.status}"
                return self.fm.error(fault.status, message, headers=headers)
        return await self._completion(body)

    async def _keyed_responses(self, body: dict[str, Any]) -> Response:
        """The Responses wire (TEXT_API=responses): counted as `served`, answered as scripted
        (through `reply_for`); errors are scripted on the native wire only."""
        raw = messages_of(body)
        tag = self._tag_of(raw if isinstance(raw, list) else [], "content")
        if tag is not None:
            self.served[tag] += 1
        return await self._responses(body)

    def _keyed_reply_for(self, messages: list[dict[str, Any]], key: str = "text") -> Reply:
        tag = self._tag_of(messages, key)
        script = self.scripts.get(tag) if tag is not None else None
        if script is not None and script.reply is not None:
            return script.reply
        return self._reply_for(messages, key)

    def _keyed_image(self, body: dict[str, Any]) -> Response:
        tag = self._tag_of(body.get("messages"))
        script = self.scripts.get(tag) if tag is not None else None
        if tag is not None:
            self.served[tag] += 1
        kind = script.image if script is not None else None
        if kind == "refuse":
            return self.fm.error(400, fm_payloads.REFUSAL, form="string")
        if kind in ("refuse_in_operation", "fail"):
            error = (
                {"code": 3, "message": fm_payloads.REFUSAL, "details": []}
                if kind == "refuse_in_operation"
                else {"code": 13, "message": "Internal error", "details": []}
            )
            return self.fm._new_operation(self.fm.image_pending_polls, "", error=error)
        return self._start_image(body)


class World:
    """The shared bot, its fakes and what the scenarios expect to stay true."""

    def __init__(self, e2e: E2E, model: KeyedModel) -> None:
        self.e2e = e2e
        self.model = model
        self.tasks: dict[str, asyncio.Task[None]] = {}
        # chat id -> the bot messages a scenario settled on; rechecked at the end.
        self.settled: dict[int, list[str]] = {}

    @property
    def tg(self) -> Any:
        return self.e2e.tg

    @property
    def fm(self) -> FakeFoundationModels:
        return self.e2e.fm

    @staticmethod
    def tag(chat_id: int) -> str:
        return f"(case {chat_id})"

    def script(self, chat_id: int, script: Script) -> str:
        tag = self.tag(chat_id)
        self.model.scripts[tag] = script
        return tag

    def served(self, chat_id: int) -> int:
        """Requests of this chat's tag that reached the fake model (authenticated)."""
        return self.model.served[self.tag(chat_id)]

    def texts(self, chat_id: int) -> list[str]:
        return self.e2e.texts(chat_id)

    def roles(self, chat_id: int) -> list[tuple[str, str]]:
        return [(m["role"], m["status"]) for m in self.e2e.db.messages(chat_id)]

    def calls_429(self, chat_id: int) -> int:
        return sum(c.status == 429 for c in self.tg.calls_for(chat_id=chat_id))

    async def until(self, what: str, predicate: Callable[[], Any], within: float = 60.0) -> Any:
        """Wait for ``predicate``; fail with ``what`` (not the shared log) on timeout."""
        try:
            return await self.tg.wait_for(lambda: self._alive() and predicate(), within)
        except TimeoutError:
            raise AssertionError(f"timed out after {within} s waiting for {what}") from None

    def _alive(self) -> bool:
        if not self.e2e.bot.running:
            raise AssertionError(f"the shared bot stopped:\n{self.e2e.bot.log_tail(60)}")
        return True

    async def shows(self, chat_id: int, expected: list[str], within: float = 60.0) -> None:
        """Wait until the chat shows exactly ``expected`` (bot messages, oldest first)."""
        try:
            await self.until("", lambda: self.texts(chat_id) == expected, within)
        except AssertionError as exc:
            raise AssertionError(
                f"chat {chat_id} shows {self.texts(chat_id)!r}\nexpected {expected!r} ({exc})"
            ) from None
        self.settled[chat_id] = expected

    async def stored(
        self, chat_id: int, expected: list[tuple[str, str]], within: float = 30.0
    ) -> list[dict[str, Any]]:
        """Wait until the chat's stored messages are ``expected`` (role, status) pairs."""
        try:
            await self.until("", lambda: self.roles(chat_id) == expected, within)
        except AssertionError:
            raise AssertionError(
                f"chat {chat_id} stored {self.roles(chat_id)}, expected {expected}"
            ) from None
        return self.e2e.db.messages(chat_id)

    async def quiet_check(self) -> None:
        """What must hold for the whole shared bot once its scenarios are done."""
        await asyncio.gather(*self.tasks.values(), return_exceptions=True)
        await asyncio.sleep(1.5)  # anything delivered twice would have shown by now
        changed = {
            chat: (texts, self.texts(chat))
            for chat, texts in self.settled.items()
            if self.texts(chat) != texts
        }
        assert not changed, f"chats changed after their scenario settled: {changed}"
        assert self.e2e.bot.running, self.e2e.bot.log_tail(60)
        assert self.e2e.db.check_consistency() == []
        twice = self.e2e.db.query(
            "SELECT reply_to_id, count(*) AS n FROM messages WHERE role = 'assistant' "
            "GROUP BY reply_to_id HAVING n > 1"
        )
        assert twice == [], f"questions answered more than once: {twice}"
        errors = [r for r in self.e2e.bot.log_records() if r.get("level") == "CRITICAL"]
        assert errors == []


def shared(
    name: str, *, last: bool = False
) -> Callable[[Body], Callable[[World], Awaitable[None]]]:
    """Make ``body`` a shared scenario: run concurrently with the others on the shared bot,
    reported as a test named like ``body`` with the ``scenario(name)`` marker. ``last``
    scenarios disturb every chat (a slow getUpdates delays all updates): they run after all
    the others have ended, one at a time."""

    def wrap(body: Body) -> Callable[[World], Awaitable[None]]:
        key = f"{body.__module__}::{body.__name__}"
        SHARED[key] = body
        if last:
            LAST.add(key)

        async def test(world: World) -> None:
            await world.tasks[key]

        # No functools.wraps: pytest would read ``body``'s parameters as fixture names.
        test.__name__ = test.__qualname__ = body.__name__
        test.__module__ = body.__module__
        test.__doc__ = body.__doc__
        test.shared_key = key  # type: ignore[attr-defined]
        # One pytest-xdist worker runs them all (--dist loadgroup): each worker that asked for
        # ``world`` would start its own bot and run every shared scenario again.
        marks = [scenario(name), pytest.mark.xdist_group("shared-bot"),
                 *getattr(body, "pytestmark", [])]
        setattr(test, "pytestmark", marks)  # noqa: B010
        return test

    return wrap


async def _run(body: Body, world: World, after: list[asyncio.Task[None]]) -> None:
    await asyncio.gather(*after, return_exceptions=True)
    async with asyncio.timeout(SCENARIO_TIMEOUT):
        await body(world)


def service_account_key(workdir: Path, fm: FakeFoundationModels) -> Path:
    """A fresh key pair: the public half registered with the fake, the key file for the bot."""
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public_pem = private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    private_pem = private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    fm.register_key("ajefaultkey", "ajefaultsa", public_pem.decode())
    path = workdir / "authorized_key.json"
    key = {"id": "ajefaultkey", "service_account_id": "ajefaultsa",
           "private_key": private_pem.decode()}
    path.write_text(json.dumps(key), encoding="utf-8")
    return path


async def start_world(workdir: Path, items: list[pytest.Item]) -> tuple[E2E, World]:
    """Start the fakes and the shared bot, then launch the selected shared scenarios."""
    e2e = E2E(workdir, extra_env=SHARED_ENV, in_process=True)
    await e2e.__aenter__()
    try:
        key_file = service_account_key(workdir, e2e.fm)
        e2e.bot.env.pop("YANDEX_API_KEY", None)
        e2e.bot.env["YANDEX_SA_KEY_FILE"] = str(key_file)
        world = World(e2e, KeyedModel(e2e.fm))
        await e2e.start_bot()
    except BaseException:
        await e2e.__aexit__(None, None, None)
        raise
    keys = [getattr(getattr(item, "function", None), "shared_key", None) for item in items]
    selected = list(dict.fromkeys(key for key in keys if key is not None))
    for key in selected:
        if key not in LAST:
            world.tasks[key] = asyncio.create_task(_run(SHARED[key], world, []), name=key)
    for key in selected:
        if key in LAST:
            after = list(world.tasks.values())
            world.tasks[key] = asyncio.create_task(_run(SHARED[key], world, after), name=key)
    return e2e, world


async def stop_world(e2e: E2E, world: World) -> None:
    for task in world.tasks.values():
        task.cancel()
    await asyncio.gather(*world.tasks.values(), return_exceptions=True)
    await e2e.__aexit__(None, None, None)
