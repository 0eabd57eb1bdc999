"""`BotTester`: a developer's `App` run in the test's event loop, against an in-process
Telegram and a test model, on SQLite in a temporary folder; no network.

The App goes through fmbot's own composition root (`bot.wiring.built_bot`, what
`python -m bot run` runs): its commands, routers, tools, context providers, hooks, plugins,
knowledge base and support desk are the real ones. Updates are fed as polling feeds them
(the durable intake, then the dispatcher), and each `says`/`presses` waits until the bot is
idle (queued answers, image jobs, the outbox, hooks, the desk's relays) before it returns
what the user would see.
"""

from __future__ import annotations

import asyncio
import itertools
import tempfile
from collections.abc import Collection, Mapping
from contextlib import AsyncExitStack
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING

from bot.app import parts_of
from bot.collector import pause_collector
from bot.conversation.types import Employee
from bot.features.evaluation.stubs import Stubs
from bot.testing.clock import VirtualClock, real_time_requested
from bot.testing.errors import BotTesterError
from bot.testing.models import EchoModel
from bot.testing.people import TestGroup, TestUser
from bot.testing.reply import Reply
from bot.testing.runsettings import GUEST_EDIT_INTERVAL, run_settings, shrunk
from bot.testing.stored import changes, look
from bot.testing.telegram import FakeTelegram, SentCall
from bot.testing.templates import migrated_copy
from bot.testing.wire import TestModel

if TYPE_CHECKING:
    from aiogram import Router
    from aiogram.types import Update

    from bot.app import App
    from bot.features.evaluation.cases import Case
    from bot.features.evaluation.runner import Run
    from bot.features.settings import Settings
    from bot.testing.business import TestBusiness
    from bot.wiring import BuiltBot

class BotTester:
    """Runs `app` for a test (an async context manager).

    ```python
    async with BotTester(app, model=ScriptedModel()) as tester:
        anna = tester.user("Anna")
        reply = await anna.says("Where is my order A-1?")
        assert "shipped" in reply.text
    ```

    `settings`: fmbot's settings for this run by variable name (the environment is read, a
    `.env` file never); `model`: the test model (default `EchoModel()`); `timeout`: seconds
    a `says` or `presses` may take before the tester gives up (on the tester's clock).

    The tester runs the test's event loop on a virtual clock (bot/testing/clock.py): when
    the bot only waits for a timer (Telegram's 429, a retry's backoff, the desk's timers),
    the clock jumps to it, so a wait costs no wall time; `advance(seconds)` lets time pass on
    purpose. `real_time=True`, or FMBOT_TESTER_REAL_TIME=1 in the environment, keeps the
    real clock.
    """

    def __init__(
        self,
        app: App,
        *,
        model: TestModel | None = None,
        settings: Mapping[str, object] | None = None,
        timeout: float = 30.0,
        real_time: bool | None = None,
    ) -> None:
        self.app = app
        self.real_time = real_time_requested() if real_time is None else real_time
        self.model = model if model is not None else EchoModel()
        self._overrides = dict(settings or {})
        self.timeout = timeout
        self.telegram = FakeTelegram()
        # The App's tools, answered by a simulated customer's stubs (`simulate`) for that
        # customer alone; every other user's calls reach the real tools.
        self.stubs = Stubs(passthrough=True)
        self._stack = AsyncExitStack()
        self._bot_stack = AsyncExitStack()  # the bot alone: what `restart` closes
        self._built: BuiltBot | None = None
        self._next_user = 1001
        self._next_group = 1
        self._next_connection = 0
        self._next_update = 0
        # Ids of the messages of guest chats: chats the bot is not in, so the tester's Telegram
        # keeps none of them (a send there is refused, as Telegram refuses it).
        self._guest_messages = itertools.count(1)
        self.settings: Settings | None = None

    # -- lifecycle -------------------------------------------------------------------------------

    async def __aenter__(self) -> BotTester:
        try:
            # The first tester in a process builds every feature: the collector's walks over
            # that growing heap were a third of its start (bench/results.md).
            with pause_collector():
                await self._start()
        except BaseException:
            await self._stack.aclose()
            raise
        return self

    async def _start(self) -> None:
        from bot.foundation_models.base import client_over

        # First in, last out: the bot's start and stop run on the virtual clock too.
        clock = None if self.real_time else VirtualClock.of()
        if clock is not None:
            self._stack.enter_context(clock.running())
        # After the bot has stopped: a webhook's deliveries and their HTTP client.
        self._stack.push_async_callback(self.telegram.aclose)
        folder = Path(self._stack.enter_context(tempfile.TemporaryDirectory(prefix="fmbot-")))
        settings = run_settings(folder, self._overrides)
        parts = parts_of(self.app)
        parts.use_plugins(settings.fmbot_plugins)
        if parts.added:  # composed again with the plugins' sections
            from bot.features.settings import Settings, compose

            settings = run_settings(folder, self._overrides, compose(parts.features, Settings))
        # What `run` checks before it starts anything, with the same features' checks: a
        # setting `run` refuses fails the test's start, naming it.
        from bot.features.installed import bot_features
        from bot.wiring.preflight import validate

        validate(settings, "run", bot_features(parts.features))
        self.settings = settings
        await migrated_copy(folder / "bot.db", parts.migration_folders())
        # Timed as the bot's own client: a quiet model is waited out as in production.
        http = client_over(self.model.transport())
        self._stack.push_async_callback(http.aclose)
        self._parts, self._http = parts, http
        await self._boot()

    async def _boot(self) -> None:
        """The bot itself, on the tester's database and Telegram: what `restart` replaces."""
        from bot.wiring import built_bot

        assert self.settings is not None
        settings, parts = self.settings, self._parts
        self._bot_stack = bot_stack = AsyncExitStack()
        self._stack.push_async_callback(bot_stack.aclose)
        # The features' registered routers: the App's now, every feature's once it is built.
        routers: list[Router] = list(parts.registrations.routers)
        bot_stack.callback(_release, routers)
        # Simulated customers (`simulate`) get the cases' stubs for the App's context
        # providers, and its on_answer/on_handoff hooks are not run for them; everyone else
        # meets the App as it is (AppParts.evaluated).
        built = await bot_stack.enter_async_context(built_bot(
            settings, settings.resolved_system_prompt(),
            app=parts.evaluated(self.stubs, whole=False),
            bot=self.telegram.make_bot(), http=self._http, background=False, pacing=shrunk,
            guest_edit_interval=GUEST_EDIT_INTERVAL, wrap_tools=self.stubs.wrap,
            # A simulated customer writes once per answer, however fast the test runs: the
            # bot's per-user rate limit is not for it (ordinary test users keep it).
            unlimited=self.stubs.stubbed,
            # Test users given groups (`user(groups=...)`) and simulated customers of a case
            # naming them: employees signed in without the company's provider.
            signed_in=self.stubs.signed_in,
        ))
        routers += [r for r in built.core.registry.routers if r not in routers]
        for chat_id in built.forums():  # the support desk's chat is a forum, as in production
            self.telegram.add_forum(chat_id)
        # What `run` keeps up to date in the background (the knowledge base, the Vector
        # Store), done once before the first question, not beside it.
        await built.ready()
        bot_stack.push_async_callback(built.shutdown)
        await built.startup()
        self._built = built

    async def restart(self) -> None:
        """Stop the bot and start it again on the same database and the same Telegram, as a
        deployment restarts: what it keeps in memory is gone, what it stored carries on (a
        request waiting for its approvers, the desk's cases, the queue). The users, chats and
        the messages they see stay as they were."""
        await self.settle()
        bot_stack, self._built = self._bot_stack, None
        await bot_stack.aclose()
        await self._boot()
        await self.settle()

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self._stack.aclose()

    @property
    def built(self) -> BuiltBot:
        """The running bot (fmbot's own objects), for a test that needs to look inside."""
        if self._built is None:
            raise BotTesterError("the tester is not running: use `async with BotTester(app)`")
        return self._built

    # -- people ----------------------------------------------------------------------------------

    def user(self, name: str = "Anna", *, language: str = "en", id: int | None = None,
             groups: Collection[str] | None = None, email: str = "") -> TestUser:
        """A Telegram user who writes to the bot (ids are given from 1001 on). With `groups`
        (or `email`), an employee signed in as a member of those groups, as the identity
        feature would sign them in with the company's provider: what they may read, which
        tools they are offered, the identity headers (docs/helpdesk.md)."""
        if id is None:
            id, self._next_user = self._next_user, self._next_user + 1
        if groups is not None or email:
            self.stubs.signed_in.sign_in(id, Employee(
                f"test-{id}", email.lower(), frozenset(groups or ())),
                f"{name} <{email.lower()}>" if email else name)
        return TestUser(self, id, name, language)

    def group(
        self, title: str = "Team", *, id: int | None = None, forum: bool = False
    ) -> TestGroup:
        """A supergroup the bot is in (ids from -1001000000001 down)."""
        if id is None:
            id, self._next_group = -1001000000000 - self._next_group, self._next_group + 1
        if forum:
            self.telegram.add_forum(id, title)
        return TestGroup(self, id, title, forum)

    def next_update_id(self) -> int:
        """A new update id (the people's updates are numbered in order)."""
        self._next_update += 1
        return self._next_update

    # -- simulated customers ---------------------------------------------------------------------

    async def simulate(self, case: Case, *, customer: TestModel, judge: TestModel) -> Run:
        """Play `case` (one case of an `fmbot eval` file: `read_cases(path).named(...)`)
        against the bot: `customer` plays the customer, `judge` scores the transcript, both
        test models (scripted or recorded). The case's stubs answer the bot's tools for this
        customer; a tool without a stub is refused. The `Run`: `passed`, `failures()`,
        `transcript`, the judge's `criteria` and `must_not` with their evidence."""
        from bot.testing.simulation import simulate

        user = self.user(case.name[:64])
        return await simulate(self, case, customer=customer, judge=judge, user_id=user.id)

    # -- guest mode ------------------------------------------------------------------------------

    async def guest(
        self,
        user: TestUser,
        text: str,
        *,
        replying_to: str | None = None,
        replied_author: str = "Bob",
        chat_title: str = "Friends",
        chat_id: int = -1009000000001,
    ) -> Reply:
        """`user` @mentions the bot in a group it is not a member of (guest mode, Bot API
        10.0): the bot gets a `guest_message` update with `text` (the mention is put in front
        when `text` lacks it) and, with `replying_to`, the text of the message it replies to
        (written by `replied_author`). The `Reply`'s one message is what the bot posted with
        answerGuestQuery, as the chat shows it after the edits (`drafts`: the texts of the
        edits); no message at all when the bot did not answer."""
        import datetime as dt

        from aiogram.types import Chat, Message, MessageEntity, User

        from bot.testing.telegram import BOT_USERNAME

        mention = f"@{BOT_USERNAME}"
        if mention.lower() not in text.lower():
            text = f"{mention} {text}"
        at = text.lower().find(mention.lower())
        chat = Chat(id=chat_id, type="supergroup", title=chat_title)
        replied = None
        if replying_to is not None:
            author = User(id=user.id + 500_000, is_bot=False, first_name=replied_author)
            replied = Message(message_id=next(self._guest_messages),
                              date=dt.datetime.now(dt.UTC), chat=chat, from_user=author,
                              text=replying_to)
        query_id = self.telegram.guest_query(
            chat_id, user.telegram_user().model_dump(mode="json", exclude_none=True))
        message = Message(
            message_id=next(self._guest_messages), date=dt.datetime.now(dt.UTC),
            chat=chat, from_user=user.telegram_user(), text=text,
            entities=[MessageEntity(type="mention", offset=_utf16(text[:at]),
                                    length=_utf16(mention))],
            reply_to_message=replied, guest_query_id=query_id,
        )
        from aiogram.types import Update

        first_call = len(self.telegram.sent)
        update = Update(update_id=self.next_update_id(), guest_message=message)
        self.telegram.record(update)
        await self.built.telegram.process(update)
        await self.settle()
        inline_id = self.telegram.guest_answered.get(query_id)
        calls = tuple(
            c for c in self.telegram.sent[first_call:]
            if c.params.get("guest_query_id") == query_id
            or (inline_id is not None and c.params.get("inline_message_id") == inline_id)
        )
        shown = self.telegram.inline.get(inline_id) if inline_id is not None else None
        drafts = tuple(str(c.params.get("text", "")) for c in calls
                       if c.method == "editMessageText")
        return Reply(messages=(shown,) if shown is not None else (), drafts=drafts,
                     calls=calls)

    # -- chat automation -------------------------------------------------------------------------

    async def business(
        self, owner: TestUser, *, can_reply: bool = True, enabled: bool = True
    ) -> TestBusiness:
        """`owner` connects the bot to their account (Chat automation, Bot API business
        connections): the bot gets the `business_connection` update; what the owner's chat
        shows in answer is in `TestBusiness.cards`."""
        from bot.testing.business import TestBusiness

        self._next_connection += 1
        business = TestBusiness(self, owner, f"test-connection-{self._next_connection}")
        await business.change(can_reply=can_reply, enabled=enabled)
        return business

    # -- what happened ---------------------------------------------------------------------------

    @property
    def sent(self) -> list[SentCall]:
        """Every Bot API call the bot made, in order."""
        return list(self.telegram.sent)

    async def advance(self, seconds: float) -> None:
        """Let `seconds` pass (at once on the virtual clock: what the bot had timed for them
        happens, in order), then wait until the bot is idle, as `settle`."""
        await asyncio.sleep(seconds)
        await self.settle()

    async def settle(self) -> None:
        """Wait until the bot has nothing more to do for now."""
        try:
            async with asyncio.timeout(self.timeout):
                await self.built.settle(lambda: len(self.telegram.sent))
        except TimeoutError:
            raise BotTesterError(
                f"the bot was still busy after {self.timeout:g} s"
            ) from None

    async def exchange(self, chat_id: int, update: Update, *more: Update) -> Reply:
        """Feed `update` and wait; what the bot did in `chat_id` meanwhile. With `more`, the
        updates arrive as one delivery (as Telegram delivers an album's parts) and are handled
        in order."""
        built = self.built
        first_call = len(self.telegram.sent)
        first_message = len(self.telegram.created)
        before = await look(built.core.db.sessionmaker, chat_id)
        delivery = (update, *more)
        for each in delivery:
            self.telegram.record(each)
        if await built.telegram.receive(delivery):
            for each in delivery:
                await built.telegram.handle(each)
        await self.settle()
        # The chat's calls, and the answer to a press (answerCallbackQuery names no chat).
        press = update.callback_query.id if update.callback_query is not None else None
        calls = tuple(c for c in self.telegram.sent[first_call:] if c.chat_id == chat_id or (
            press is not None and c.params.get("callback_query_id") == press))
        created = [key for key in self.telegram.created[first_message:] if key[0] == chat_id]
        turned = await changes(built.core.db.sessionmaker, chat_id, before)
        drafts = tuple(  # a rich draft's (sendRichMessageDraft): its Markdown
            str(c.params.get("text") or c.params.get("rich_message", {}).get("markdown", ""))
            for c in calls
            if c.method in ("sendMessageDraft", "editMessageText", "sendRichMessageDraft")
            and (c.params.get("text") or c.params.get("rich_message"))
        )
        return Reply(
            messages=tuple(self.telegram.shown[key] for key in created),
            drafts=drafts,
            calls=calls,
            sources=turned.sources,
            tool_calls=turned.tool_calls,
            traces=turned.traces,
            status=turned.status,
        )


def _utf16(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _release(routers: list[Router]) -> None:
    """Let the features' registered routers go when a tester stops. aiogram attaches a router
    to one parent for life (it has no public way to detach one), while a test session runs
    the same module-level App (or a plugin's module-level router) in one tester after
    another, each with its own dispatcher."""
    for router in routers:
        parent = router.parent_router
        if parent is not None:
            parent.sub_routers.remove(router)
            router._parent_router = None
