"""The outbox's own calls (drafts, messages, edits, chat actions, deletes) as JSON bodies.

Through aiogram, each call builds a pydantic method model, url-encodes it as a form (quoting the
whole text), and validates the answer as ``Response[T]``: about half of the CPU of a call in
bench/bench_outbox.py. The Bot API takes ``application/json`` bodies
(https://core.telegram.org/bots/api#making-requests), so these calls are built as plain dicts
from our rendered text and posted over the bot's own aiohttp session (same connection pool,
proxy, timeout and token), and the answer is read as plain JSON. Errors are raised as the very
aiogram exceptions aiogram's ``check_response`` raises (aiogram/client/session/base.py), built
from the same fields, so the outbox's error handling cannot tell the two paths apart.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import partial
from http import HTTPStatus
from typing import Any, Protocol, runtime_checkable

from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.exceptions import (
    ClientDecodeError,
    RestartingTelegram,
    TelegramAPIError,
    TelegramBadRequest,
    TelegramConflictError,
    TelegramEntityTooLarge,
    TelegramForbiddenError,
    TelegramMigrateToChat,
    TelegramNetworkError,
    TelegramNotFound,
    TelegramRetryAfter,
    TelegramServerError,
    TelegramUnauthorizedError,
)
from aiogram.methods import (
    DeleteBusinessMessages,
    DeleteMessage,
    EditMessageText,
    SendChatAction,
    SendMessage,
    SendMessageDraft,
    SendRichMessage,
    SendRichMessageDraft,
    TelegramMethod,
)
from aiohttp import ClientError, ClientTimeout

from bot.telegram.render import RenderedText

_METHODS: dict[str, type[TelegramMethod[Any]]] = {
    "sendMessageDraft": SendMessageDraft,
    "sendMessage": SendMessage,
    "editMessageText": EditMessageText,
    "sendChatAction": SendChatAction,
    "deleteMessage": DeleteMessage,
    "sendRichMessage": SendRichMessage,  # richfinal.py
    "sendRichMessageDraft": SendRichMessageDraft,
    "deleteBusinessMessages": DeleteBusinessMessages,
}
_JSON_HEADERS = {"Content-Type": "application/json"}
_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


@dataclass(frozen=True, slots=True)
class ApiCall:
    """One Bot API call: the method name and its parameters, ready for ``json.dumps``.

    Parameters that would be empty are left out, as aiogram leaves them out of its forms.
    """

    name: str
    params: dict[str, Any]

    def as_method(self) -> TelegramMethod[Any]:
        """The aiogram method object of this call (for exceptions and other sessions)."""
        method_type = _METHODS[self.name]
        params = self.params
        if "parse_mode" in method_type.model_fields:
            # absent on the wire means none, not the bot's default
            params = {**params, "parse_mode": None}
        return method_type.model_validate(params)

    def body(self) -> bytes:
        return _dumps(self.params).encode()


@runtime_checkable
class JsonSession(Protocol):
    """A session that takes calls as JSON bodies itself (the test kit's FakeTelegram,
    bot/testing/telegram/session.py)."""

    async def post_json(self, bot: Bot, name: str, body: bytes) -> tuple[int, str | bytes]:
        """Make the call; the HTTP status and the body of the answer."""


def _text(params: dict[str, Any], part: RenderedText, plain: bool) -> dict[str, Any]:
    # No parse_mode: only the entities format the text (so no bot-wide default can apply).
    if part.text:
        params["text"] = part.text
    if not plain and part.entities:  # plain: Telegram refused our entities once
        params["entities"] = part.entities_json
    return params


def new_message_params(
    chat_id: int, reply_to: int | None, thread_id: int | None, business: str | None
) -> dict[str, Any]:
    """Where a new message goes: the chat, its topic, the message it answers, the business
    connection it is sent through (a chat of an account connected to the bot)."""
    params: dict[str, Any] = {"chat_id": chat_id}
    if business is not None:
        params["business_connection_id"] = business
    if thread_id is not None:
        params["message_thread_id"] = thread_id
    if reply_to is not None:
        # The user may have deleted their question meanwhile: answer anyway.
        params["reply_parameters"] = {"message_id": reply_to, "allow_sending_without_reply": True}
    return params


def send_call(
    chat_id: int,
    part: RenderedText,
    reply_to: int | None,
    thread_id: int | None,
    plain: bool,
    business: str | None = None,
) -> ApiCall:
    """`business`: a business connection's id, when the message goes to a chat of the account
    connected to the bot (it appears as the account owner's)."""
    params = new_message_params(chat_id, reply_to, thread_id, business)
    return ApiCall("sendMessage", _text(params, part, plain))


def edit_call(
    chat_id: int, message_id: int, part: RenderedText, plain: bool, business: str | None = None
) -> ApiCall:
    params: dict[str, Any] = {"chat_id": chat_id, "message_id": message_id}
    if business is not None:
        params["business_connection_id"] = business
    return ApiCall("editMessageText", _text(params, part, plain))


def draft_call(
    chat_id: int,
    draft_id: int,
    part: RenderedText,
    thread_id: int | None,
    can_stop: bool,
    plain: bool,
) -> ApiCall:
    """https://core.telegram.org/bots/api#sendmessagedraft (can_stop, keep_on_stop: 10.3).

    keep_on_stop: after the user presses stop, the partial draft stays visible until the
    final message (sent by ``finish`` with the partial answer) replaces it.
    """
    params: dict[str, Any] = {"chat_id": chat_id, "draft_id": draft_id}
    if thread_id is not None:
        params["message_thread_id"] = thread_id
    if can_stop:
        params["can_stop"] = True
        params["keep_on_stop"] = True
    return ApiCall("sendMessageDraft", _text(params, part, plain))


def typing_call(chat_id: int, thread_id: int | None, business: str | None = None) -> ApiCall:
    params: dict[str, Any] = {"chat_id": chat_id, "action": "typing"}
    if business is not None:
        params["business_connection_id"] = business
    if thread_id is not None:
        params["message_thread_id"] = thread_id
    return ApiCall("sendChatAction", params)


def delete_call(chat_id: int, message_id: int, business: str | None = None) -> ApiCall:
    if business is not None:  # deleteMessage takes no business connection
        params = {"business_connection_id": business, "message_ids": [message_id]}
        return ApiCall("deleteBusinessMessages", params)
    return ApiCall("deleteMessage", {"chat_id": chat_id, "message_id": message_id})


def message_id_of(result: Any) -> int:
    """The message id in a sendMessage answer (a JSON object, or aiogram's Message)."""
    return int(result["message_id"] if isinstance(result, dict) else result.message_id)


class BotApi:
    """Makes ``ApiCall``s for one bot: returns the JSON ``result``, raises aiogram's errors."""

    def __init__(self, bot: Bot) -> None:
        self.bot = bot
        self._timeout = ClientTimeout(total=None)

    async def __call__(self, call: ApiCall) -> Any:
        session = self.bot.session
        post: Callable[[], Awaitable[tuple[int, str | bytes]]]
        if isinstance(session, AiohttpSession):
            post = partial(self._post, session, call)
        elif isinstance(session, JsonSession):
            post = partial(session.post_json, self.bot, call.name, call.body())
        else:  # another kind of aiogram session: let it make the call its own way
            return await self.bot(call.as_method())

        async def json_request(bot: Bot, method: TelegramMethod[Any]) -> Any:
            status, content = await post()
            return read_answer(call, status, content, session.json_loads)

        # Through the session's request middlewares (aiogram's public chain), as every call
        # of aiogram's own goes: telemetry.py counts it there, a developer's middleware sees it.
        chain = session.middleware.wrap_middlewares(json_request)
        return await chain(self.bot, call.as_method())

    async def _post(self, session: AiohttpSession, call: ApiCall) -> tuple[int, bytes]:
        client = await session.create_session()
        if self._timeout.total != session.timeout:  # what aiohttp makes of aiogram's number
            self._timeout = ClientTimeout(total=session.timeout)
        url = session.api.api_url(token=self.bot.token, method=call.name)
        # The same errors, timeout and messages as AiohttpSession.make_request.
        try:
            async with client.post(
                url, data=call.body(), headers=_JSON_HEADERS, timeout=self._timeout
            ) as response:
                return response.status, await response.read()
        except TimeoutError as exc:
            raise TelegramNetworkError(call.as_method(), "Request timeout error") from exc
        except ClientError as exc:
            message = f"{type(exc).__name__}: {exc}"
            raise TelegramNetworkError(call.as_method(), message) from exc


def read_answer(
    call: ApiCall, status: int, content: str | bytes, loads: Callable[..., Any] = json.loads
) -> Any:
    """The ``result`` of a Bot API answer, or the exception aiogram's check_response raises."""
    try:
        data = loads(content)
    except Exception as exc:  # as aiogram: whatever the decoder raises is a decode error
        raise ClientDecodeError("Failed to decode object", exc, content) from exc
    if not isinstance(data, dict) or not isinstance(data.get("ok"), bool):
        error = ValueError("not a Bot API answer: no boolean 'ok'")
        raise ClientDecodeError("Failed to deserialize object", error, data)
    if HTTPStatus.OK <= status <= HTTPStatus.IM_USED and data["ok"]:
        return data.get("result")
    raise api_error(call.as_method(), status, data)


def api_error(method: TelegramMethod[Any], status: int, data: dict[str, Any]) -> TelegramAPIError:
    """The exception for an error answer, chosen exactly as aiogram's check_response does."""
    description = str(data.get("description") or "")
    parameters = data.get("parameters")
    if isinstance(parameters, dict):
        if retry_after := parameters.get("retry_after"):
            return TelegramRetryAfter(method, description, int(retry_after))
        if migrate_to := parameters.get("migrate_to_chat_id"):
            return TelegramMigrateToChat(method, description, int(migrate_to))
    error_type = _BY_STATUS.get(status)
    if error_type is not None:
        return error_type(method, description)
    if status >= HTTPStatus.INTERNAL_SERVER_ERROR:
        if "restart" in description:
            return RestartingTelegram(method, description)
        return TelegramServerError(method, description)
    return TelegramAPIError(method, description)


_BY_STATUS: dict[int, type[TelegramAPIError]] = {
    HTTPStatus.BAD_REQUEST: TelegramBadRequest,
    HTTPStatus.NOT_FOUND: TelegramNotFound,
    HTTPStatus.CONFLICT: TelegramConflictError,
    HTTPStatus.UNAUTHORIZED: TelegramUnauthorizedError,
    HTTPStatus.FORBIDDEN: TelegramForbiddenError,
    HTTPStatus.REQUEST_ENTITY_TOO_LARGE: TelegramEntityTooLarge,
}
