"""The fake Telegram served over loopback HTTP (127.0.0.1): the test kit's Bot API
(`FakeBotApi`, bot/testing/telegram/users.py) behind aiohttp, behaving like the real one where
it matters. The modules named below without a folder (users.py, wire.py, guest.py, ...) are the
kit's, in bot/testing/telegram; this one and control.py are fmbot's test infrastructure, not in
the wheel.

It imports nothing of ``bot`` but the kit's fake Telegram: the wire format is encoded by hand
(wire.py), so a bug in our code cannot hide behind the same bug here. This module is the
transport alone (reading a request's parameters, writing ``{"ok": ...}`` bodies, streaming
downloads); the methods' behaviour is the state's, the same the in-process session
(session.py) answers with. Routes: ``/bot{token}/{method}`` (GET or POST;
url-encoded, multipart or JSON bodies; a wrong token answers 401 "Unauthorized", an unknown
method 404 "Not Found", a real method the fake does not model answers ``true`` with a logged
warning), ``/file/bot{token}/{path}`` for getFile downloads, and ``/_control/...`` (below).

Modelled: getMe, getUpdates (long polling, offset confirmation, allowed_updates, 409 on a
concurrent poll), setWebhook/deleteWebhook/getWebhookInfo (deliveries with the secret header,
retried on non-2xx), set/get/deleteMyCommands, sendMessage, editMessageText,
editMessageReplyMarkup, deleteMessage, sendMessageDraft (private chats only), sendChatAction,
sendPhoto (multipart, JPEG/PNG checked, uploaded bytes kept), sendVoice (one OggOpus stream),
sendDocument and the other file sends, editMessageCaption, answerCallbackQuery, getFile,
guest mode (guest.py: guest_message updates, answerGuestQuery once, editMessageText with
inline_message_id, getMe's supports_guest_queries), rich messages (rich.py: sendRichMessage
and editMessageText with rich_message, Markdown turned into blocks, ``refuse_rich``),
chat automation (business.py:
business_connection and business_message updates, sends/edits/chat actions with
business_connection_id, getBusinessConnection, deleteBusinessMessages, getMe's
can_connect_to_business), ephemeral messages (ephemeral.py: sendMessage with
ephemeral_message_parameters, seen by its receiver alone).
Checks: text 1-4096 and captions 0-1024 UTF-16 units, entity bounds, "message is not modified",
"message to edit not found", 403 for blocked users, flood limits (flood.py) answering 429
with ``retry_after``, parameters refused by name (``refuse_fields``, an older server). Chats
must exist (a user wrote, or ``add_chat``) or sends answer "chat not found". Times are
``time.time()``.

The test API, in the process that runs the server::

    async with TelegramServer(token="42:TEST") as tg:
        bot = Bot(tg.token, session=AiohttpSession(api=TelegramAPIServer.from_base(tg.url)))
        update_id = tg.send_user_message(1, "hi")          # private chat 1, user id 1
        tg.send_user_message(-100, "@fm_test_bot hi", chat_type="group", user={"id": 7})
        tg.send_update({...}); tg.press_stop(1)             # stopped_message_generation
        update_id, query = tg.send_guest_message(-5, "what is it?", reply_to_text="...")
        tg.guest[query].text, .versions, .answers           # the guest answer (guest.py)
        bc = tg.connect_business({"id": 500, "first_name": "Shop"})   # business.py
        tg.send_business_message(bc, {"id": 9, "first_name": "Bob"}, "hi", from_owner=False)
        tg.business_chat(bc, 9).bot_messages                # what the bot sent as the owner
        tg.chat(-100).seen_by(7), .ephemeral; tg.refuse_ephemeral(True)  # (ephemeral.py)
        tg.edit_user_message(1, message_id, "new"); tg.send_callback_query(1, message_id, "x")
        chat = tg.chat(1)  # .messages .bot_messages .history .draft .drafts .events .actions
                           # .calls .first_visible_at .final_text_at .timing_since(t)
        await tg.wait_for(lambda: chat.bot_messages, timeout=5)
        tg.count_429, tg.count_flood_429, tg.calls, tg.flood.limits (FloodLimits)
        tg.fail_next("sendMessage", 429, retry_after=2, times=1, chat_id=None)
        tg.block_user(1); tg.unblock_user(1); tg.delete_message(1, message_id)
        tg.slow_get_updates(3.0); tg.fail_get_updates(2, status=502)
        tg.updates.secret_override = "wrong"  # webhook deliveries send a wrong secret
        tg.add_file(data, kind="voice"); tg.send_user_photo_message(1, [jpeg], "caption")
        tg.send_user_voice(1, ogg, duration=3); tg.send_user_document(1, data, file_name=...,
        mime_type=...); tg.file_faults(file_id, delay=...); tg.downloads  # see files.py

As a process: ``python -m tests.fakes.telegram --port 0 --token T [--username U]
[--no-flood]`` prints ``LISTENING http://127.0.0.1:PORT`` and serves until SIGTERM. The
control API (JSON): POST ``/_control/`` + guest_message {chat_id, text, user?, title?,
reply_to_text?, reply_author?} -> {update_id, guest_query_id}; user_message {chat_id, text,
user?, chat_type?, title?, reply_to?, thread_id?, entities?, language_code?, extra?} ->
{update_id};
edit_user_message {chat_id, message_id, text}; callback_query {chat_id, message_id, data};
update {update}; press_stop {chat_id, draft_id?}; refuse_rich {on?}; fail_next {method,
status, description?, retry_after?, times?, chat_id?}; ephemeral {refuse?, chat_id?};
block_user / unblock_user
{chat_id}; slow_get_updates {seconds}; fail_get_updates {times, status?}; delete_message
{chat_id, message_id}; limits {field: value...}; reset_timing {chat_id?}; reset_counters;
file {data, kind?, ext?, mime_type?} -> {file_id}; user_photo_message {chat_id,
sizes: [base64], caption?, media_group_id?, language_code?}; user_voice {chat_id, data,
duration}; user_document {chat_id, data, file_name, mime_type, caption?} (files.py: getFile
and downloads). GET ``/_control/`` + chats;
chat/{chat_id}[?since=T] (messages with edits, draft, events, calls, timing, and with ``since``
the first visible / final text times after T); photo/{chat_id}/{message_id} (the JPEG);
guest/{guest_query_id} (answers, inline_message_id, text, versions);
business/{business_connection_id}/{chat_id} (the chat as chat/ shows one). POST
business_connect {owner, can_reply?, enabled?, connection_id?} -> {business_connection_id};
business_message {business_connection_id, customer, text, from_owner?} -> {update_id};
stats (429 counts, calls per method, pending updates, webhook); calls?since=N&chat_id=;
wait?version=V&timeout=T (long-polls until the state changes).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import signal
from typing import Any

from aiohttp import web

from bot.testing.telegram.flood import FloodLimits
from bot.testing.telegram.users import FakeBotApi
from bot.testing.telegram.wire import Params, TelegramError, UploadedFile, bad_request
from tests.fakes.telegram.control import add_control_routes


class TelegramServer(FakeBotApi):
    """The fake Bot API on loopback HTTP (see the module docstring): `start` it, point a
    client at `url`, drive it with the test API or ``/_control``."""

    def __init__(
        self,
        token: str = "42:TEST",
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        bot_username: str = "fm_test_bot",
        limits: FloodLimits | None = None,
    ) -> None:
        super().__init__(token, bot_username)
        if limits is not None:
            flood = self.flood
            flood.limits = limits
        self.host, self.port = host, port
        self._runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    async def start(self) -> TelegramServer:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._handle_api)
        app.router.add_get("/file/bot{token}/{path:.+}", self._handle_download)
        add_control_routes(app, self)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        self.port = int(self._runner.addresses[0][1])
        return self

    async def close(self) -> None:
        await self.updates.close()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> TelegramServer:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # --- HTTP ------------------------------------------------------------------------------

    async def _handle_api(self, request: web.Request) -> web.StreamResponse:
        if request.match_info["token"] != self.token:
            return error_response(TelegramError(401, "Unauthorized"))
        try:
            params = await read_params(request)
        except TelegramError as exc:
            return error_response(exc)
        answer = await self.answer(request.match_info["method"], params)
        call = answer.call
        call.unread = request.transport is None or request.transport.is_closing()
        if answer.error is not None:
            return error_response(answer.error)
        if self.before_reply is not None:
            await self.before_reply(answer.call)
        return ok_response(answer.result)

    async def _handle_download(self, request: web.Request) -> web.StreamResponse:
        if request.match_info["token"] != self.token:
            return error_response(TelegramError(401, "Unauthorized"))
        found = await self.download(request.match_info["path"])
        if found is None:
            return error_response(TelegramError(404, "Not Found"))
        meta, data = found
        if not meta.chunk_delay:
            return web.Response(body=data, content_type=meta.mime_type)
        response = web.StreamResponse(headers={"Content-Type": meta.mime_type})
        await response.prepare(request)
        for start in range(0, len(data), 64 * 1024):
            await response.write(data[start : start + 64 * 1024])
            await asyncio.sleep(meta.chunk_delay)
        await response.write_eof()
        return response


def ok_response(result: Any, description: str | None = None) -> web.Response:
    body: dict[str, Any] = {"ok": True, "result": result}
    if description:
        body["description"] = description
    return web.json_response(body)


def error_response(error: TelegramError) -> web.Response:
    return web.json_response(error.body(), status=error.status)


async def read_params(request: web.Request) -> Params:
    values: dict[str, Any] = dict(request.query)
    files: dict[str, UploadedFile] = {}
    if request.method == "POST" and request.can_read_body:
        if request.content_type == "application/json":
            try:
                body = await request.json()
            except json.JSONDecodeError:
                raise bad_request("can't parse JSON object") from None
            if isinstance(body, dict):
                values.update(body)
        else:
            form = await request.post()
            for key, value in form.items():
                if isinstance(value, web.FileField):
                    files[key] = UploadedFile(
                        key, value.filename, value.content_type, value.file.read()
                    )
                else:
                    values[key] = value
    return Params(values, files)



async def _serve(args: argparse.Namespace) -> None:
    limits = FloodLimits(enabled=not args.no_flood)
    tg = TelegramServer(
        args.token, host=args.host, port=args.port, bot_username=args.username, limits=limits
    )
    updates = tg.updates
    updates.parallel = args.webhook_parallel
    await tg.start()
    print(f"LISTENING {tg.url}", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        await tg.close()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m tests.fakes.telegram")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--token", default="42:TEST")
    parser.add_argument("--username", default="fm_test_bot")
    parser.add_argument("--no-flood", action="store_true", help="do not enforce flood limits")
    parser.add_argument(
        "--webhook-parallel", action="store_true",
        help="deliver to a webhook over up to max_connections at once, as Telegram does",
    )
    parser.add_argument("--log-level", default="WARNING")
    args = parser.parse_args(argv)
    logging.basicConfig(level=args.log_level, format="%(asctime)s %(name)s %(message)s")
    asyncio.run(_serve(args))


if __name__ == "__main__":
    main()
