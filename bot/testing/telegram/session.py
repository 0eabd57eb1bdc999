"""An in-process Telegram for `BotTester`: an aiogram session that answers the Bot API in
memory and keeps what every chat shows.

It is a real aiogram `BaseSession`: the bot's calls are built, sent and checked by aiogram
itself (`check_response`), so a call's answer has the shape Telegram gives it (a `Message`
for sendMessage, `True` for sendChatAction...). Each call is recorded (`SentCall`); sent
messages get ids per chat, edits change them, deletes remove them, and the files a test user
sends can be downloaded with getFile as from Telegram's file server. A message sent with
`ephemeral_message_parameters` (Bot API 10.2-10.4) is shown to its receiver alone
(`Shown.receiver`); `refuse_ephemeral = True` answers those 400, as a server without them,
and `refuse_fields` answers any call with one of those parameters 400 naming it, as a server
older than the parameter does.
"""

from __future__ import annotations

import itertools
import json
import time
import typing
from collections.abc import AsyncGenerator
from dataclasses import dataclass, field
from typing import Any

from aiogram import Bot
from aiogram.client.session.base import BaseSession
from aiogram.methods import TelegramMethod
from aiogram.methods.base import TelegramType
from aiogram.types import (
    ChatFullInfo,
    ChatMemberMember,
    File,
    ForumTopic,
    Message,
    MessageId,
    User,
)

from bot.testing.telegram.botapi import error_body, keyboard_of, numeric, params_of, returns

BOT_ID = 5000000001
BOT_USERNAME = "fmbot_test_bot"
BOT_TOKEN = f"{BOT_ID}:TEST-token-of-the-bot-under-test"
_TEXT_KEYS = ("text", "caption")


@dataclass(frozen=True, slots=True)
class SentCall:
    """One Bot API call the bot made."""

    method: str
    """The Bot API method, e.g. `sendMessage`."""
    params: dict[str, Any]
    """Its parameters as sent (JSON values; empty ones left out)."""
    chat_id: int | None = None
    """The chat it addressed, when it addressed one."""


@dataclass(slots=True)
class Shown:
    """A message the bot sent, as the chat shows it now."""

    message_id: int
    chat_id: int
    kind: str  # text, rich, photo, document, voice, ...
    text: str = ""
    buttons: list[list[dict[str, Any]]] = field(default_factory=list)
    deleted: bool = False
    rich: dict[str, Any] | None = None
    """A rich message's content as the bot sent it (an `InputRichMessage`: `markdown`,
    `html` or `blocks`), None for a text message; `text` is then its Markdown or HTML."""
    receiver: int | None = None
    """The one member who sees it (an ephemeral message, e.g. a limit reached in a group),
    or None: the whole chat sees it."""

    @property
    def ephemeral(self) -> bool:
        """Whether only `receiver` sees it."""
        return self.receiver is not None

    def button_texts(self) -> list[str]:
        return [button.get("text", "") for row in self.buttons for button in row]


class FakeTelegram(BaseSession):
    """The Bot API in memory (see the module docstring)."""

    def __init__(self) -> None:
        super().__init__()
        self.sent: list[SentCall] = []
        self.shown: dict[tuple[int, int], Shown] = {}  # (chat, message id) -> message
        self.files: dict[str, bytes] = {}  # file_id -> content
        self.created: list[tuple[int, int]] = []  # (chat, message id) of what the bot sent
        self._ids: dict[int, itertools.count[int]] = {}
        self._file_ids = itertools.count(1)
        self.me = User(id=BOT_ID, is_bot=True, first_name="Test bot", username=BOT_USERNAME,
                       can_join_groups=True, can_read_all_group_messages=False,
                       supports_guest_queries=True, can_connect_to_business=True)
        # Guest queries: asked (query id -> the guest chat) and answered (-> inline id); the
        # messages posted in answer, by inline_message_id.
        self.guest_asked: dict[str, int] = {}
        self.guest_answered: dict[str, str] = {}
        self.inline: dict[str, Shown] = {}
        self._guest_ids = itertools.count(1)
        # Rich messages (Bot API 10.1) refused with a 400 while on, as a Bot API server without
        # them or a chat where they are not allowed refuses them.
        self.refuse_rich = False
        self.refuse_ephemeral = False  # ephemeral messages answered 400 (an older server)
        self.refuse_fields: set[str] = set()  # answered 400 naming them (an older server)
        # Chat automation: connections (id -> getBusinessConnection's answer), and the chats
        # of connected accounts, each kept under an id of its own (a customer's chat with
        # the owner has the customer's id, like the customer's private chat with the bot).
        self.connections: dict[str, dict[str, Any]] = {}
        self.business_chats: dict[tuple[str, int], int] = {}
        # getChatMember's answers per chat (user id -> status: "member", "left", ...): a chat
        # listed here answers "left" for anyone not in it; any other chat, "member".
        self.members: dict[int, dict[int, str]] = {}
        # Supergroups with Topics on (getChat's `is_forum`): a tester's forum groups and the
        # deployment's support chat, which `fmbot check` proves is one in production.
        self.forums: set[int] = set()

    def set_member(self, chat_id: int, user_id: int, status: str = "member") -> None:
        """What getChatMember says of `user_id` in `chat_id` from now on ("member",
        "administrator", "left", "kicked", ...); the chat's other users are not members."""
        self.members.setdefault(chat_id, {})[user_id] = status

    def make_bot(self) -> Bot:
        return Bot(BOT_TOKEN, session=self)

    def next_message_id(self, chat_id: int) -> int:
        return next(self._ids.setdefault(chat_id, itertools.count(1)))

    @property
    def guest_queries(self) -> bool:
        """Whether the bot supports guest queries (getMe's `supports_guest_queries`)."""
        return bool(self.me.supports_guest_queries)

    @guest_queries.setter
    def guest_queries(self, on: bool) -> None:
        self.me = self.me.model_copy(update={"supports_guest_queries": on or None})

    def guest_query(self, chat_id: int) -> str:
        """A new guest query asked in `chat_id`; its id."""
        query_id = f"guest-{next(self._guest_ids)}"
        self.guest_asked[query_id] = chat_id
        return query_id

    def business_chat(self, connection_id: str, chat_id: int) -> int:
        """The id this fake keeps a connected account's chat under (what `shown`, `created`
        and `SentCall.chat_id` use for it)."""
        key = (connection_id, chat_id)
        if key not in self.business_chats:
            self.business_chats[key] = -8_000_000_000_000_000 - len(self.business_chats)
        return self.business_chats[key]

    def add_file(self, content: bytes) -> str:
        """Keep `content` as a file a user sent; its file_id."""
        file_id = f"file-{next(self._file_ids)}"
        self.files[file_id] = content
        return file_id

    # -- aiogram's session interface ------------------------------------------------------------

    async def make_request(
        self,
        bot: Bot,
        method: TelegramMethod[TelegramType],
        timeout: int | None = None,  # noqa: ASYNC109 - BaseSession's signature
    ) -> TelegramType:
        params = params_of(bot, method)
        chat = params.get("chat_id")
        chat_id = int(chat) if isinstance(chat, int | str) and numeric(chat) else None
        connection = params.get("business_connection_id")
        if connection is not None and chat_id is not None:
            chat_id = self.business_chat(str(connection), chat_id)
        self.sent.append(SentCall(method.__api_method__, params, chat_id))
        if connection is not None and str(connection) not in self.connections:
            status, result = 400, error_body("Bad Request: BUSINESS_CONNECTION_INVALID")
        else:
            status, result = self._answer(method.__api_method__, params, chat_id,
                                          method.__returning__)
        body = {"ok": True, "result": result} if status == 200 else result
        response = self.check_response(bot, method, status, json.dumps(body))
        return typing.cast(TelegramType, response.result)

    async def close(self) -> None:
        return None

    async def stream_content(
        self,
        url: str,
        headers: dict[str, Any] | None = None,
        timeout: int = 30,  # noqa: ASYNC109 - BaseSession's signature
        chunk_size: int = 65536,
        raise_for_status: bool = True,
    ) -> AsyncGenerator[bytes, None]:
        file_id = url.rsplit("/", 1)[-1]
        yield self.files.get(file_id, b"")

    # -- answers ---------------------------------------------------------------------------------

    def _answer(
        self, name: str, params: dict[str, Any], chat_id: int | None, returning: Any
    ) -> tuple[int, Any]:
        if name == "getMe":
            return 200, self.me.model_dump(mode="json", exclude_none=True)
        if name == "getFile":
            file_id = str(params.get("file_id"))
            if file_id not in self.files:
                return 400, {"ok": False, "error_code": 400,
                             "description": "Bad Request: invalid file_id"}
            return 200, {"file_id": file_id, "file_unique_id": file_id,
                         "file_size": len(self.files[file_id]), "file_path": file_id}
        if name == "getBusinessConnection":
            found = self.connections.get(str(params.get("business_connection_id")))
            if found is None:
                return 400, error_body("Bad Request: BUSINESS_CONNECTION_INVALID")
            return 200, found
        if name == "deleteBusinessMessages":
            ids = {int(i) for i in params.get("message_ids") or []}
            chats = set(self.business_chats.values())
            for key, message in self.shown.items():
                if key[0] in chats and key[1] in ids:
                    message.deleted = True
            return 200, True
        if name == "answerGuestQuery":
            return self._answer_guest(params)
        refused = sorted(self.refuse_fields & params.keys())
        if refused:
            return 400, error_body(f"Bad Request: unknown parameter {refused[0]}")
        if "rich_message" in params and self.refuse_rich:
            return 400, error_body("Bad Request: RICH_MESSAGE_FORBIDDEN")
        if name.startswith("edit") and chat_id is None and "inline_message_id" in params:
            return self._edit_inline(name, params)
        if name.startswith("edit") and chat_id is not None:
            return self._edit(name, params, chat_id)
        if name == "deleteMessage" and chat_id is not None:
            shown = self.shown.get((chat_id, int(params.get("message_id", 0))))
            if shown is None or shown.deleted:
                return 400, error_body("Bad Request: message to delete not found")
            shown.deleted = True
            return 200, True
        if "ephemeral_message_parameters" in params and self.refuse_ephemeral:
            return 400, error_body("Bad Request: EPHEMERAL_MESSAGES_UNAVAILABLE")
        if returns(returning, Message) and chat_id is not None:
            return 200, self._new_message(name, params, chat_id)
        if returns(returning, MessageId) and chat_id is not None:
            return 200, {"message_id": self._new_message(name, params, chat_id)["message_id"]}
        if returns(returning, File):
            return 200, {"file_id": "f", "file_unique_id": "f"}
        if returns(returning, ForumTopic):
            thread = self.next_message_id(chat_id or 0)
            return 200, {"message_thread_id": thread, "name": params.get("name", ""),
                         "icon_color": 7322096}
        if returns(returning, ChatMemberMember):
            user = int(params.get("user_id", 0))
            listed = self.members.get(chat_id or 0)
            status = "member" if listed is None else listed.get(user, "left")
            return 200, {"status": status, "user": {"id": user, "is_bot": False,
                                                    "first_name": str(user)}}
        if returns(returning, ChatFullInfo):
            return 200, {"id": chat_id or 0, "type": "private" if (chat_id or 0) > 0
                         else "supergroup", "accent_color_id": 0, "max_reaction_count": 11,
                         **({"is_forum": True} if chat_id in self.forums else {}),
                         "accepted_gift_types": {"unlimited_gifts": False,
                         "limited_gifts": False, "unique_gifts": False,
                         "premium_subscription": False, "gifts_from_channels": False}}
        if returns(returning, list):
            return 200, []
        return 200, True

    def _new_message(self, name: str, params: dict[str, Any], chat_id: int) -> dict[str, Any]:
        message_id = self.next_message_id(chat_id)
        kind = name.removeprefix("send").lower() or "message"
        kind = "text" if kind in ("message", "copymessage") else kind
        text = next((str(params[k]) for k in _TEXT_KEYS if params.get(k)), "")
        rich = params.get("rich_message")
        if isinstance(rich, dict):
            kind, text = "rich", _rich_source(rich)
        shown = Shown(message_id, chat_id, kind, text, keyboard_of(params),
                      rich=rich if isinstance(rich, dict) else None)
        ephemeral = params.get("ephemeral_message_parameters")
        if isinstance(ephemeral, dict):
            shown.receiver = int(ephemeral["receiver_user_id"])
        self.shown[(chat_id, message_id)] = shown
        self.created.append((chat_id, message_id))
        return message_of(shown, self.me)

    def _edit(self, name: str, params: dict[str, Any], chat_id: int) -> tuple[int, Any]:
        shown = self.shown.get((chat_id, int(params.get("message_id", 0))))
        if shown is None or shown.deleted:
            return 400, {"ok": False, "error_code": 400,
                         "description": "Bad Request: message to edit not found"}
        before = (shown.text, shown.buttons, shown.rich)
        rich = params.get("rich_message")
        if name == "editMessageText" and isinstance(rich, dict):  # into a rich message
            shown.kind, shown.text, shown.rich = "rich", _rich_source(rich), rich
        elif name in ("editMessageText", "editMessageCaption"):
            shown.text = next((str(params[k]) for k in _TEXT_KEYS if k in params), "")
            if shown.kind == "rich":
                shown.kind, shown.rich = "text", None
        shown.buttons = keyboard_of(params)  # an edit without a keyboard removes it
        if (shown.text, shown.buttons, shown.rich) == before:
            return 400, {"ok": False, "error_code": 400, "description":
                         "Bad Request: message is not modified: specified new message content "
                         "and reply markup are exactly the same"}
        return 200, message_of(shown, self.me)


    def _answer_guest(self, params: dict[str, Any]) -> tuple[int, Any]:
        query_id = str(params.get("guest_query_id", ""))
        if query_id not in self.guest_asked or query_id in self.guest_answered:
            return 400, error_body("Bad Request: QUERY_ID_INVALID")
        result = params.get("result") or {}
        content = result.get("input_message_content") or {}
        text = str(content.get("message_text", ""))
        if not text:
            return 400, error_body("Bad Request: MESSAGE_EMPTY")
        inline_id = f"inline-{query_id}"
        chat_id = self.guest_asked[query_id]
        self.guest_answered[query_id] = inline_id
        self.inline[inline_id] = Shown(self.next_message_id(chat_id), chat_id, "text", text)
        return 200, {"inline_message_id": inline_id}

    def _edit_inline(self, name: str, params: dict[str, Any]) -> tuple[int, Any]:
        shown = self.inline.get(str(params["inline_message_id"]))
        if shown is None:
            return 400, error_body("Bad Request: MESSAGE_ID_INVALID")
        before = (shown.text, shown.buttons)
        if name == "editMessageText":
            shown.text = str(params.get("text", ""))
        shown.buttons = keyboard_of(params)
        if (shown.text, shown.buttons) == before:
            return 400, error_body("Bad Request: message is not modified: specified new message "
                               "content and reply markup are exactly the same")
        return 200, True


def message_of(shown: Shown, me: User) -> dict[str, Any]:
    """The Bot API's Message for a message the bot sent."""
    chat_type = "private" if shown.chat_id > 0 else "supergroup"
    message: dict[str, Any] = {
        "message_id": shown.message_id,
        "date": int(time.time()),
        "chat": {"id": shown.chat_id, "type": chat_type},
        "from": me.model_dump(mode="json", exclude_none=True),
    }
    if shown.kind == "text":
        message["text"] = shown.text
    elif shown.kind == "photo":
        message["photo"] = [{"file_id": "p", "file_unique_id": "p", "width": 1, "height": 1}]
        message["caption"] = shown.text or None
    elif shown.kind == "document":
        message["document"] = {"file_id": "d", "file_unique_id": "d"}
    elif shown.kind == "rich":  # its source as one paragraph: the blocks are Telegram's
        message["rich_message"] = {"blocks": [{"type": "paragraph", "text": shown.text}]}
    else:
        message["text"] = shown.text
    if shown.buttons:
        message["reply_markup"] = {"inline_keyboard": shown.buttons}
    if shown.receiver is not None:  # ephemeral: message_id 0, addressed by its own id
        message["message_id"] = 0
        message["ephemeral_message_id"] = shown.message_id
        message["receiver_user"] = {"id": shown.receiver, "is_bot": False,
                                    "first_name": str(shown.receiver)}
    return {k: v for k, v in message.items() if v is not None}


def _rich_source(rich: dict[str, Any]) -> str:
    return str(rich.get("markdown") or rich.get("html") or json.dumps(rich.get("blocks", [])))
