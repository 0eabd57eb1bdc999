"""The fake Telegram in process, for `BotTester`: an aiogram session over the kit's one Bot
API (`FakeBotApi`, users.py), the same state and method handlers the loopback server
(tests/fakes/telegram/server.py) answers with.

It is a real aiogram `BaseSession`: each call's parameters are built as aiogram's
`AiohttpSession` sends them (`prepare_value`, files read into the upload form), answered by
the fake's handlers with Telegram's checks and error wording, and the answer is checked by
aiogram itself (`check_response`): a call's result has the shape Telegram gives it, an error
raises what aiogram raises for it (`TelegramBadRequest`, `TelegramRetryAfter`...). Each call
is also recorded as the bot sent it (`SentCall`); what a chat shows is read from the state
(`Shown`). Nothing waits in real time: flood limits are off unless a test sets
`flood.limits` (`FloodLimits`, `FloodLimits.scaled(0.05)` for Telegram's limits on a shrunk
clock), counted on the running loop's clock (a `looptime` test's virtual time), and updates
are fed to the bot's dispatcher directly, each one taken into the state first (`record`), so
the chats a tester's users write in exist.

A session with `post_json` is also answered the way fmbot's outbox posts its own calls, as
JSON bodies (bot/telegram/outbox/botapi.py): read as the Bot API reads one, the method by
name and each field as given, an absent field unset (no bot default such as a parse mode).
`calls(SendMessage)` gives a test the calls as aiogram method objects, as the bot sent them.

Faults and refusals, as a test needs them: `fail_next("sendMessage", 429, retry_after=1)`,
`block_user(chat_id)`, `refuse_rich`, `refuse_ephemeral`, `refuse_fields` (parameters a server
older than them answers 400), `ignore_fields` (parameters it drops unread), and
`state.before_reply` (awaited between Telegram accepting a call and its answer going back).
"""

from __future__ import annotations

import dataclasses
import json
import typing
from collections.abc import AsyncGenerator, Iterator, Mapping
from typing import Any

from aiogram import Bot
from aiogram.client.session.base import BaseSession
from aiogram.methods import TelegramMethod
from aiogram.methods.base import TelegramType
from aiogram.types import Update, User

from bot.testing.telegram.flood import FloodControl, FloodLimits, loop_clock
from bot.testing.telegram.sent import form_of, params_of, returns_list
from bot.testing.telegram.state import ChatMessage, ChatState
from bot.testing.telegram.users import FakeBotApi
from bot.testing.telegram.views import SentCall, Shown, ShownView, shows_something
from bot.testing.telegram.wire import Params, TelegramError

BOT_ID = 5000000001
BOT_USERNAME = "fmbot_test_bot"
BOT_TOKEN = f"{BOT_ID}:TEST-token-of-the-bot-under-test"


class FakeTelegram(BaseSession):
    """The Bot API in process (see the module docstring). `state` is the one state (a
    `FakeBotApi`: chats, calls, files, faults); the rest reads it as the test kit needs."""

    def __init__(self, state: FakeBotApi | None = None, *, token: str = BOT_TOKEN,
                 username: str = BOT_USERNAME) -> None:
        """`state`: the Bot API to answer with (a `TelegramServer` too: then the calls made
        in process and over HTTP meet one state); by default a new one for the bot of
        `token` and `username`, flood limits off."""
        super().__init__()
        if state is None:
            state = FakeBotApi(token, username)
            flood = state.flood
            flood.limits = FloodLimits(enabled=False)  # BotTester shrinks pacing
            flood.clock = loop_clock  # a test's virtual clock, when it runs on one
            state.bot_user.update(first_name="Test bot", can_connect_to_business=True,
                                  supports_guest_queries=True)
        self.state = state
        self.sent: list[SentCall] = []
        # (chat, message id) of what the bot sent, in order; a connected account's chat is
        # kept under an id of its own (`business_chat`).
        self.created: list[tuple[int, int]] = []
        self._business_ids: dict[tuple[str, int], int] = {}
        self._business_keys: dict[int, tuple[str, int]] = {}

    # -- the state, as the kit reads it ----------------------------------------------------------

    @property
    def me(self) -> User:
        """getMe's answer."""
        return User.model_validate(self.state.bot_user)

    @property
    def guest_queries(self) -> bool:
        """Whether the bot supports guest queries (getMe's `supports_guest_queries`)."""
        return self.state.guest_queries

    @guest_queries.setter
    def guest_queries(self, on: bool) -> None:
        self.state.bot_user["supports_guest_queries"] = on

    @property
    def refuse_rich(self) -> bool:
        """Rich messages (Bot API 10.1) answered 400, as a server without them or a chat where
        they are not allowed answers."""
        return self.state.refuse_rich

    @refuse_rich.setter
    def refuse_rich(self, on: bool) -> None:
        state = self.state
        state.refuse_rich = on

    @property
    def refuse_ephemeral(self) -> bool:
        """Ephemeral messages answered 400 in every chat, as a server without them answers."""
        return None in self.state.ephemeral_off

    @refuse_ephemeral.setter
    def refuse_ephemeral(self, on: bool) -> None:
        self.state.refuse_ephemeral(on)

    @property
    def refuse_fields(self) -> set[str]:
        """Parameters answered 400 naming them, as a server older than them answers."""
        return self.state.refuse_fields

    @refuse_fields.setter
    def refuse_fields(self, fields: set[str]) -> None:
        state = self.state
        state.refuse_fields = set(fields)

    @property
    def ignore_fields(self) -> set[str]:
        """Parameters dropped unread, as a server older than them does: the call goes on
        without them (an ephemeral send then shows its message to the whole chat)."""
        return self.state.ignore_fields

    @ignore_fields.setter
    def ignore_fields(self, fields: set[str]) -> None:
        state = self.state
        state.ignore_fields = set(fields)

    @property
    def flood(self) -> FloodControl:
        """Flood limits: off in process; `flood.limits = FloodLimits()` turns them on."""
        return self.state.flood

    @property
    def files(self) -> dict[str, bytes]:
        """The files Telegram holds, by file_id (the users' and the bot's)."""
        return self.state.files

    @property
    def forums(self) -> Mapping[int, bool]:
        """Supergroups with Topics on (getChat's `is_forum`), each with whether the bot may
        manage topics there."""
        return self.state.forums

    @property
    def members(self) -> dict[int, dict[int, str]]:
        """getChatMember's answers set per chat (user id -> status)."""
        return self.state.members

    @property
    def connections(self) -> dict[str, dict[str, Any]]:
        """Business connections by id, as getBusinessConnection answers them."""
        return {key: connection.to_json() for key, connection in self.state.connections.items()}

    @property
    def guest_answered(self) -> dict[str, str]:
        """Guest queries answered: query id -> the inline_message_id of the answer."""
        return {query.query_id: query.inline_message_id for query in self.state.guest.values()
                if query.inline_message_id is not None}

    @property
    def inline(self) -> dict[str, Shown]:
        """The messages posted in answer to guest queries, by inline_message_id."""
        return {query.inline_message_id: Shown(query.chat_id, ChatMessage(
                    0, query.chat_id, True, query.answered_at or 0.0, text=query.text))
                for query in self.state.guest.values() if query.inline_message_id is not None}

    @property
    def shown(self) -> Mapping[tuple[int, int], Shown]:
        """What the bot sent, by (chat, message id), as the chats show it now."""
        return ShownView(self._found, lambda: self.created)

    def calls(self, *methods: type[TelegramMethod[Any]]) -> list[Any]:
        """The calls of these aiogram method types (every call when none is given), in order,
        each as an aiogram method object built from what the bot sent (`SentCall.as_method`):
        `telegram.calls(SendMessage)[0].reply_parameters.message_id`."""
        names = {method.__api_method__ for method in methods}
        return [sent.as_method() for sent in self.sent if not names or sent.method in names]

    def make_bot(self) -> Bot:
        """An aiogram `Bot` whose calls this fake answers."""
        return Bot(self.state.token, session=self)

    def chat(self, chat_id: int) -> ChatState:
        """The state of a chat (its `messages`, `drafts`, `actions`, `events`...): one of this
        fake's ids, a connected account's chat included. A chat the fake has not met yet is
        made (a private chat for a positive id, a supergroup otherwise), as if a user wrote."""
        key = self._business_keys.get(chat_id)
        if key is not None:
            return self.state.business_chat(*key)
        return self.state.add_chat(chat_id, "private" if chat_id > 0 else "supergroup")

    def message_json(self, shown: Shown) -> dict[str, Any]:
        """The Bot API's Message for `shown` as the fake has it now (what an update carrying
        it holds: a reply's `reply_to_message`, a press's `message`)."""
        return dict(self.state.message_json(self.chat(shown.chat_id), shown._message))

    def next_message_id(self, chat_id: int) -> int:
        """A new message id in `chat_id` (for a message a user sends there)."""
        return self.chat(chat_id).take_message_id()

    def business_chat(self, connection_id: str, chat_id: int) -> int:
        """The id this fake keeps a connected account's chat under (what `shown`, `created`
        and `SentCall.chat_id` use for it)."""
        key = (connection_id, chat_id)
        if key not in self._business_ids:
            kept = -8_000_000_000_000_000 - len(self._business_ids)
            self._business_ids[key], self._business_keys[kept] = kept, key
        return self._business_ids[key]

    # -- what a test sets up ---------------------------------------------------------------------

    def add_forum(self, chat_id: int, title: str = "Support", *,
                  can_manage_topics: bool = True) -> None:
        """A supergroup with Topics on where the bot is an administrator (that may manage
        topics, unless `can_manage_topics` is False)."""
        self.state.add_forum(chat_id, title, can_manage_topics=can_manage_topics)

    def set_member(self, chat_id: int, user_id: int, status: str = "member") -> None:
        """What getChatMember says of `user_id` in `chat_id` from now on ("member",
        "administrator", "left", "kicked", ...); anyone not set is not in the chat ("left"),
        as Telegram answers."""
        self.chat(chat_id)
        self.state.add_member(chat_id, user_id, status)

    def add_file(self, content: bytes, *, kind: str = "documents", ext: str | None = None,
                 mime_type: str | None = None) -> str:
        """Keep `content` as a file a user sent (`kind`: "photos", "voice", "documents",
        "music"); its file_id, which getFile and the download answer."""
        return self.state.add_file(content, kind=kind, ext=ext, mime_type=mime_type)

    def guest_query(self, chat_id: int, user: dict[str, Any] | None = None) -> str:
        """A new guest query asked in `chat_id` (by `user`, a Bot API User); its id."""
        asker = user or {"id": 1, "is_bot": False, "first_name": "User1"}
        return self.state.add_guest_query(chat_id, asker)

    def fail_next(self, method: str, status: int = 429, description: str | None = None, *,
                  retry_after: int | None = None, times: int = 1,
                  chat_id: int | None = None) -> None:
        """Answer the next `times` calls of `method` (in `chat_id`, or any) with this error:
        429 "Too Many Requests: retry after N" by default (then the chat's flood budget is
        closed for `retry_after` seconds), or any status with its `description`."""
        self.state.fail_next(method, status, description, retry_after=retry_after,
                             times=times, chat_id=chat_id)

    def block_user(self, chat_id: int) -> None:
        """The user blocks the bot: sends to their chat answer 403 "bot was blocked by the
        user" until `unblock_user`."""
        self.chat(chat_id).blocked = True

    def unblock_user(self, chat_id: int) -> None:
        """The user unblocks the bot."""
        self.chat(chat_id).blocked = False

    def record(self, update: Update) -> None:
        """Take in an update the tester feeds the dispatcher, as Telegram would have it: the
        chat exists, the user's message is in its history, a press can be answered."""
        self.state.ingest(update.model_dump(mode="json", exclude_none=True, by_alias=True))

    # -- aiogram's session interface ------------------------------------------------------------

    async def make_request(
        self,
        bot: Bot,
        method: TelegramMethod[TelegramType],
        timeout: int | None = None,  # noqa: ASYNC109 - BaseSession's signature
    ) -> TelegramType:
        name = method.__api_method__
        index = self._record(name, params_of(bot, method))
        params = await form_of(self, bot, method)
        status, body = await self._answer(index, params, returns_list(method))
        response = self.check_response(bot, method, status, json.dumps(body))
        return typing.cast(TelegramType, response.result)

    async def post_json(self, bot: Bot, name: str, body: bytes) -> tuple[int, str]:
        """A call posted as a JSON body (fmbot's outbox, bot/telegram/outbox/botapi.py), read
        as the Bot API reads one: the method by name, each field as given, an absent field
        unset (so no parse mode); the HTTP status and the body of the answer."""
        values = json.loads(body)
        index = self._record(name, dict(values))
        status, answer = await self._answer(index, Params(values, {}), False)
        return status, json.dumps(answer)

    def _record(self, name: str, sent: dict[str, Any]) -> int:
        """Keep the call as the bot sent it; its index in `sent`."""
        self.sent.append(SentCall(name, sent, self._chat_of(sent), loop_clock()))
        return len(self.sent) - 1

    async def _answer(self, index: int, params: Params, returns_list: bool,
                      ) -> tuple[int, dict[str, Any]]:
        """The state's answer to the call `sent[index]`: the HTTP status and the body."""
        call = self.sent[index]
        before = self._lengths()
        answer = await self.state.answer(call.method, params)
        if answer.error is None and not answer.modelled and returns_list:
            answer.result = []
        if answer.error is None:
            self._note_created(before)
            if self.state.before_reply is not None:
                await self.state.before_reply(answer.call)
            body: dict[str, Any] = {"ok": True, "result": answer.result}
            status = 200
        else:
            body, status = answer.error.body(), answer.error.status
        self.sent[index] = dataclasses.replace(call, status=status)
        return status, body

    async def close(self) -> None:
        # aiogram closes a bot's session when its polling ends; the Telegram stays up for the
        # next bot (a tester's `restart`): `aclose` ends it.
        return None

    async def aclose(self) -> None:
        """End what this Telegram keeps running for the test: a webhook's deliveries (and the
        HTTP client they post with) and a long poll still waiting. Whoever made it calls this
        once the test is done with it (`BotTester` does)."""
        await self.state.updates.close()

    async def stream_content(
        self,
        url: str,
        headers: dict[str, Any] | None = None,
        timeout: int = 30,  # noqa: ASYNC109 - BaseSession's signature
        chunk_size: int = 65536,
        raise_for_status: bool = True,
    ) -> AsyncGenerator[bytes, None]:
        marker = f"/file/bot{self.state.token}/"
        path = url.split(marker, 1)[1] if marker in url else url.rsplit("/", 1)[-1]
        found = await self.state.download(path)
        if found is None:
            if raise_for_status:
                raise TelegramError(404, "Not Found")
            return
        data = found[1]
        for start in range(0, len(data), chunk_size):
            yield data[start : start + chunk_size]

    def _chat_of(self, sent: dict[str, Any]) -> int | None:
        chat = sent.get("chat_id")
        if not isinstance(chat, int | str) or not str(chat).lstrip("-").isdigit():
            return None
        connection = sent.get("business_connection_id")
        if connection is not None:
            return self.business_chat(str(connection), int(chat))
        return int(chat)

    def _chats(self) -> Iterator[tuple[int, ChatState]]:
        """Every chat with the id the kit keeps it under."""
        yield from self.state.chats.items()
        for key, chat in self.state.business_chats.items():
            yield self.business_chat(*key), chat

    def _lengths(self) -> dict[int, int]:
        """How long each chat's history is: what a call appends to one is what it created (a
        send's handler does not wait, so no other call runs in between)."""
        return {kept: len(chat.history) for kept, chat in self._chats()}

    def _note_created(self, before: dict[int, int]) -> None:
        for kept, chat in self._chats():
            for message in chat.history[before.get(kept, 0):]:
                if message.from_bot and shows_something(message):
                    self.created.append((kept, message.message_id))

    def _found(self, key: tuple[int, int]) -> Shown | None:
        kept, message_id = key
        chats = dict(self._chats())
        chat = chats.get(kept)
        message = chat.find(message_id) if chat is not None else None
        if message is None or not message.from_bot:
            return None
        return Shown(kept, message)
