"""The deployment's bot as `fmbot eval` talks to it: built by the composition root with the
deployment's settings (system prompt, knowledge base, model, tools, desk), on a SQLite file of
its own in a temporary folder (no conversation reaches the real database), against the test
kit's in-memory Telegram (bot.testing.telegram: nothing is sent to Telegram). The models are
the real ones; each tool source is wrapped so its calls get the case's stubs."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import json
import tempfile
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
from pydantic import SecretStr

from bot.features.evaluation.runner import BotTurn, Explain, Run

if TYPE_CHECKING:
    from aiogram.types import Chat, User

    from bot.features.evaluation.stubs import Stubs
    from bot.plugin.commands import CommandContext
    from bot.plugin.running import RunningBot
    from bot.plugin.telegram import Pacing
    from bot.testing.telegram import FakeTelegram, Shown

# A reply may take a model's answer and a few tool rounds; past this the turn is reported.
TURN_TIMEOUT = 300.0
_COMPLETIONS = ("/completion", "/chat/completions", "/responses")
_HANDED_OFF = frozenset({"waiting", "with_operator"})


def unpaced(pacing: Pacing) -> Pacing:
    """No Telegram is there to protect: the outbox sends as soon as it may."""
    return dataclasses.replace(
        pacing, private_interval=0.001, group_interval=0.001, group_window=0.06,
        draft_interval=0.001, typing_interval=0.01, frame_grace=0.0, final_preview_after=0.0,
        global_window=0.001,
    )


class EvalBot:
    """`BotUnderTest`: one private chat per simulated customer."""

    def __init__(self, built: RunningBot, telegram: FakeTelegram) -> None:
        self.built = built
        self.telegram = telegram
        self._update = 0
        self._lock = asyncio.Lock()

    async def says(self, user_id: int, name: str, text: str) -> BotTurn:
        from aiogram.types import Message, Update

        user, chat = _person(user_id, name)
        self._update += 1
        first = len(self.telegram.created)
        message = Message(message_id=self.telegram.next_message_id(user_id),
                          date=dt.datetime.now(dt.UTC), chat=chat, from_user=user, text=text)
        update = Update(update_id=self._update, message=message)
        self.telegram.record(update)
        await self.built.process(update)
        return await self._turn(user_id, first)

    async def presses(self, user_id: int, name: str, button: str) -> BotTurn:
        """As a person presses a button: a callback query on the newest of the customer's
        messages showing a button whose text is (or contains, ignoring case) `button`."""
        from aiogram.types import CallbackQuery, Message, Update

        found = self._button(user_id, button)
        if found is None:
            return BotTurn(f"(nothing happens: no button {button!r} is shown)",
                           await self._handed_off(user_id))
        shown, data = found
        user, _ = _person(user_id, name)
        message = Message.model_validate(self.telegram.message_json(shown))
        self._update += 1
        first = len(self.telegram.created)
        query = CallbackQuery(id=f"eval-{self._update}", from_user=user,
                              chat_instance=str(user_id), data=data, message=message)
        update = Update(update_id=self._update, callback_query=query)
        self.telegram.record(update)
        await self.built.process(update)
        return await self._turn(user_id, first)

    def _button(self, user_id: int, button: str) -> tuple[Shown, str] | None:
        for key in reversed(self.telegram.created):
            shown = self.telegram.shown.get(key)
            if key[0] != user_id or shown is None or shown.deleted:
                continue
            for row in shown.buttons:
                for item in row:
                    text = str(item.get("text", ""))
                    data = item.get("callback_data")
                    if data is not None and (text == button
                                             or button.casefold() in text.casefold()):
                        return shown, str(data)
        return None

    async def _turn(self, user_id: int, first: int) -> BotTurn:
        """What the customer sees once the bot is idle: its messages since `first`."""
        await self._settle()
        shown = [self.telegram.shown[key] for key in self.telegram.created[first:]
                 if key[0] == user_id and key in self.telegram.shown]
        parts = []
        for item in shown:
            if item.deleted:
                continue
            part = item.text
            buttons = [b for b in item.button_texts() if b]
            if buttons:
                part += "\n[buttons: " + " | ".join(buttons) + "]"
            parts.append(part.strip())
        return BotTurn("\n\n".join(p for p in parts if p), await self._handed_off(user_id))

    async def _settle(self) -> None:
        """Until the bot has nothing more to do (every customer's turn: the bot is one)."""
        async with asyncio.timeout(TURN_TIMEOUT):
            await self.built.settle(lambda: len(self.telegram.sent))

    async def _handed_off(self, user_id: int) -> bool:
        from bot.plugin.offers import PersonState

        person = self.built.core.built.find(PersonState)  # the desk, when there is one
        if person is None:
            return False
        return await person.read(user_id) in _HANDED_OFF


def _person(user_id: int, name: str) -> tuple[User, Chat]:
    from aiogram.types import Chat, User

    return (User(id=user_id, is_bot=False, first_name=name[:64], language_code="en"),
            Chat(id=user_id, type="private", first_name=name[:64]))


class Meter:
    """The tokens the bot's model calls spent, read from the answers' `usage`."""

    def __init__(self) -> None:
        self.tokens = 0

    def add(self, tokens: int) -> None:
        self.tokens += tokens


@asynccontextmanager
async def evaluated_bot(
    factory: CommandContext, stubs: Stubs, meter: Meter, transport: httpx.AsyncBaseTransport | None
) -> AsyncIterator[EvalBot]:
    """The deployment's bot, running until the block ends."""
    from bot.plugin.models import client_over
    from bot.plugin.storage import migrate
    from bot.testing.telegram import BOT_TOKEN, FakeTelegram

    async with AsyncExitStack() as stack:
        folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="fmbot-eval-")))
        settings = factory.settings.model_copy(update={
            "database_url": f"sqlite+aiosqlite:///{folder / 'eval.db'}",
            "telegram_bot_token": SecretStr(BOT_TOKEN), "telegram_mode": "polling",
            "redis_url": "", "metrics_listen": "",
        })
        await migrate(settings.database_url, extra=factory.migrations())
        inner = transport if transport is not None else httpx.AsyncHTTPTransport()
        # Timed as the bot's own client: the first byte waited for as long as in production.
        http = client_over(_Metered(inner, meter))
        stack.push_async_callback(http.aclose)
        telegram = FakeTelegram()
        stack.push_async_callback(telegram.aclose)
        # Every user is a simulated customer: the App's hooks, context providers and plugins'
        # features reach nothing real (AppParts.evaluated).
        built = await stack.enter_async_context(factory.running(
            settings=settings, bot=telegram.make_bot(), http=http, background=False,
            pacing=unpaced, wrap_tools=stubs.wrap, simulated=stubs,
            # Every user here is a simulated customer: RATE_LIMIT_PER_MINUTE protects the bot
            # from people, and a 30-turn case would otherwise read "too fast".
            unlimited=stubs.stubbed,
            # A case naming `groups` plays an employee signed in as a member of them.
            signed_in=stubs.signed_in,
        ))
        for chat_id in built.forums():  # forums in production, as `fmbot check` proves
            telegram.add_forum(chat_id)
        await built.ready()
        stack.push_async_callback(built.shutdown)
        await built.startup()
        yield EvalBot(built, telegram)


# A failed run is explained by what its first customer messages find in the knowledge base.
_EXPLAINED_MESSAGES = 3


def explainer(bot: EvalBot, stubs: Stubs) -> Explain:
    """Why a failed run may have failed, a line each: the passages the knowledge base finds for
    the customer's first messages (document, score) against KB_MIN_SCORE, and the tools the
    bot could offer beside those it called."""
    from bot.plugin.models import FoundationModelsError
    from bot.plugin.offers import KnowledgeLookup

    async def explain(run: Run) -> list[str]:
        lines = []
        lookup = bot.built.core.built.find(KnowledgeLookup)
        said = [line.text for line in run.transcript.lines
                if line.speaker == "customer" and not line.text.startswith("[press:")]
        if lookup is not None and lookup.passages is not None:
            for text in said[:_EXPLAINED_MESSAGES]:
                asked = text if len(text) <= 60 else text[:59] + "…"
                try:
                    found = await lookup.passages(text)
                except FoundationModelsError as exc:
                    lines.append(f"knowledge base for {asked!r}: the search failed: {exc}")
                    continue
                above = sum(score >= lookup.min_score for _, score in found)
                shown = ", ".join(f"{path} {score:.2f}" for path, score in found) or "nothing"
                lines.append(f"knowledge base for {asked!r}: {shown} (KB_MIN_SCORE "
                             f"{lookup.min_score:.2f}: {above} at or above it)")
        offered = stubs.offered()
        called = list(dict.fromkeys(use.name for use in run.tools))
        lines.append(f"tools the bot could offer: {', '.join(offered) or 'none'}; called: "
                     f"{', '.join(called) or 'none'}")
        return lines

    return explain


class _Metered(httpx.AsyncBaseTransport):
    def __init__(self, inner: httpx.AsyncBaseTransport, meter: Meter) -> None:
        self.inner = inner
        self.meter = meter

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self.inner.handle_async_request(request)
        if not request.url.path.endswith(_COMPLETIONS):
            return response
        return httpx.Response(response.status_code, headers=response.headers,
                              stream=_Counted(response, self.meter),
                              extensions=response.extensions)

    async def aclose(self) -> None:
        await self.inner.aclose()


class _Counted(httpx.AsyncByteStream):
    """The answer's bytes passed on as they come; its last `usage` counted at the end."""

    def __init__(self, response: httpx.Response, meter: Meter) -> None:
        self.response = response
        self.meter = meter
        self.body = bytearray()

    async def __aiter__(self) -> AsyncIterator[bytes]:
        stream = self.response.stream
        assert isinstance(stream, httpx.AsyncByteStream)
        async for chunk in stream:
            self.body.extend(chunk)
            yield chunk

    async def aclose(self) -> None:
        self.meter.add(_total(bytes(self.body)))
        await self.response.aclose()


def _total(body: bytes) -> int:
    """The last total of tokens in a completion's body (whole JSON, NDJSON or SSE)."""
    text = body.decode("utf-8", "replace")
    candidates = [text, *reversed(text.splitlines())]
    for candidate in candidates:
        candidate = candidate.strip().removeprefix("data:").strip()
        try:
            data: Any = json.loads(candidate)
        except ValueError:
            continue
        total = _usage_total(data)
        if total is not None:
            return total
    return 0


def _usage_total(data: Any) -> int | None:
    if not isinstance(data, dict):
        return None
    for holder in (data.get("result"), data, data.get("response")):
        if isinstance(holder, dict) and isinstance(holder.get("usage"), dict):
            usage = holder["usage"]
            value = usage.get("totalTokens", usage.get("total_tokens"))
            try:
                return int(value)
            except (TypeError, ValueError):
                return None
    return None
