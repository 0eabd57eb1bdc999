"""The outbox's JSON Bot API calls against the fake Bot API server on 127.0.0.1.

Each error answer is checked against what aiogram's own session raises for the very same
answer (same exception class, message and fields), since the outbox's error handling is
written against aiogram's exceptions.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import (
    ClientDecodeError,
    RestartingTelegram,
    TelegramAPIError,
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramMigrateToChat,
    TelegramNetworkError,
    TelegramNotFound,
    TelegramRetryAfter,
    TelegramServerError,
)
from aiogram.methods import SendMessageDraft
from aiogram.types import MessageEntity
from aiohttp import web

from bot.telegram.outbox import Outbox, Pacing
from bot.telegram.outbox.botapi import (
    ApiCall,
    BotApi,
    delete_call,
    draft_call,
    edit_call,
    read_answer,
    send_call,
    typing_call,
)
from bot.telegram.outbox.errors import Failure, classify
from bot.telegram.render import RenderedText, render_markdown
from bot.telegram.startup import make_bot
from bot.testing.telegram.flood import FloodLimits
from tests.fakes.telegram.server import TelegramServer

TOKEN = "42:TEST"
USER, GROUP = 1, -100


@pytest.fixture
async def tg() -> AsyncIterator[TelegramServer]:
    async with TelegramServer(TOKEN, limits=FloodLimits(enabled=False)) as server:
        server.send_user_message(USER, "hi")
        server.send_user_message(GROUP, "@fm_test_bot hi", chat_type="group", user={"id": 7})
        yield server


@pytest.fixture
async def bot(tg: TelegramServer) -> AsyncIterator[Bot]:
    bot = make_bot(TOKEN, tg.url)  # the production session
    yield bot
    await bot.session.close()


def last_params(tg: TelegramServer) -> dict[str, Any]:
    return dict(tg.calls[-1].params)


async def both_ways(bot: Bot, call: ApiCall) -> tuple[BaseException, BaseException]:
    """The error of ``call`` through BotApi, then of the same call through aiogram."""
    with pytest.raises(Exception) as ours:  # noqa: PT011 - compared below
        await BotApi(bot)(call)
    with pytest.raises(Exception) as theirs:  # noqa: PT011
        await bot(call.as_method())
    return ours.value, theirs.value


def assert_same_error(ours: BaseException, theirs: BaseException) -> None:
    assert type(ours) is type(theirs)
    assert str(ours) == str(theirs)
    assert getattr(ours, "retry_after", None) == getattr(theirs, "retry_after", None)
    if isinstance(ours, TelegramAPIError):
        assert isinstance(theirs, TelegramAPIError)
        assert ours.message == theirs.message
        assert type(ours.method) is type(theirs.method)


# -- request bodies ------------------------------------------------------------------------


async def test_send_body_has_entities_and_reply_parameters(tg: TelegramServer, bot: Bot) -> None:
    part = render_markdown("**Hi** see [docs](https://example.com/x) and `code` 😀")
    result = await BotApi(bot)(send_call(GROUP, part, reply_to=1, thread_id=None, plain=False))
    assert tg.calls[-1].method == "sendMessage"
    assert last_params(tg) == {
        "chat_id": GROUP,
        "reply_parameters": {"message_id": 1, "allow_sending_without_reply": True},
        "text": "Hi see docs and code 😀",
        "entities": [
            {"type": "bold", "offset": 0, "length": 2},
            {"type": "text_link", "offset": 7, "length": 4, "url": "https://example.com/x"},
            {"type": "code", "offset": 16, "length": 4},
        ],
    }
    [shown] = tg.chat(GROUP).bot_messages
    assert result["message_id"] == shown.message_id
    assert shown.reply_to == 1
    assert shown.text == part.text
    assert [e["type"] for e in shown.entities] == ["bold", "text_link", "code"]
    # the same entities aiogram's pydantic dump would send
    assert part.entities_json == [
        e.model_dump(mode="json", exclude_none=True) for e in part.entities
    ]


async def test_plain_send_and_edit_leave_entities_out(tg: TelegramServer, bot: Bot) -> None:
    api = BotApi(bot)
    part = render_markdown("**bold** text")
    sent = await api(send_call(USER, part, reply_to=None, thread_id=5, plain=True))
    assert last_params(tg) == {"chat_id": USER, "message_thread_id": 5, "text": "bold text"}
    edited = render_markdown("**bold** text, more")
    result = await api(edit_call(USER, sent["message_id"], edited, plain=False))
    assert last_params(tg) == {
        "chat_id": USER,
        "message_id": sent["message_id"],
        "text": "bold text, more",
        "entities": [{"type": "bold", "offset": 0, "length": 4}],
    }
    assert result["text"] == "bold text, more"
    assert await api(delete_call(USER, sent["message_id"])) is True
    assert last_params(tg) == {"chat_id": USER, "message_id": sent["message_id"]}
    assert tg.chat(USER).bot_messages == []


async def test_draft_and_typing_bodies(tg: TelegramServer, bot: Bot) -> None:
    api = BotApi(bot)
    empty = draft_call(USER, 77, RenderedText(""), None, can_stop=True, plain=False)
    assert await api(empty) is True
    # empty text is left out, as aiogram leaves empty values out of its forms
    assert last_params(tg) == {
        "chat_id": USER,
        "draft_id": 77,
        "can_stop": True,
        "keep_on_stop": True,
    }
    frame = draft_call(USER, 77, render_markdown("_so far_"), 3, can_stop=False, plain=False)
    assert await api(frame) is True
    assert last_params(tg) == {
        "chat_id": USER,
        "draft_id": 77,
        "message_thread_id": 3,
        "text": "so far",
        "entities": [{"type": "italic", "offset": 0, "length": 6}],
    }
    draft = tg.chat(USER).draft
    assert draft is not None
    assert (draft.text, draft.can_stop) == ("so far", False)
    assert await api(typing_call(GROUP, None)) is True
    assert last_params(tg) == {"chat_id": GROUP, "action": "typing"}
    assert tg.chat(GROUP).actions[-1][1] == "typing"


def test_as_method_is_the_aiogram_method_of_the_same_call() -> None:
    part = RenderedText("hey", [MessageEntity(type="bold", offset=0, length=3)])
    method = draft_call(USER, 9, part, None, can_stop=True, plain=False).as_method()
    assert isinstance(method, SendMessageDraft)
    assert (method.chat_id, method.draft_id, method.text) == (USER, 9, "hey")
    assert method.entities == part.entities
    assert method.parse_mode is None
    assert (method.can_stop, method.keep_on_stop) == (True, True)


# -- errors: the fake's real error answers, compared with aiogram's own path ---------------


async def test_flood_answer_is_retry_after(tg: TelegramServer, bot: Bot) -> None:
    call = draft_call(USER, 5, RenderedText("x"), None, can_stop=True, plain=False)
    tg.fail_next("sendMessageDraft", 429, retry_after=3, times=2)
    ours, theirs = await both_ways(bot, call)
    assert isinstance(ours, TelegramRetryAfter)
    assert ours.retry_after == 3
    assert_same_error(ours, theirs)


@pytest.mark.parametrize(
    ("status", "description", "error_type", "failure"),
    [
        (400, "Bad Request: can't parse entities: bad offset", TelegramBadRequest, "bad"),
        (403, "Forbidden: bot was kicked from the group chat", TelegramForbiddenError, "gone"),
        (404, "Not Found", TelegramNotFound, "refused"),
        (500, "Internal Server Error", TelegramServerError, "transient"),
        (502, "Bad Gateway: restart", RestartingTelegram, "transient"),
    ],
)
async def test_error_statuses_raise_aiograms_exceptions(
    tg: TelegramServer,
    bot: Bot,
    status: int,
    description: str,
    error_type: type[TelegramAPIError],
    failure: str,
) -> None:
    call = send_call(GROUP, RenderedText("x"), reply_to=None, thread_id=None, plain=False)
    tg.fail_next("sendMessage", status, description, times=2)
    ours, theirs = await both_ways(bot, call)
    assert type(ours) is error_type
    assert_same_error(ours, theirs)
    assert isinstance(ours, TelegramAPIError)
    expected = {
        "bad": Failure.BAD_ENTITIES,
        "gone": Failure.CHAT_GONE,
        "refused": Failure.REFUSED,
        "transient": Failure.TRANSIENT,
    }
    assert classify(ours) is expected[failure]


async def test_edit_errors_from_the_fake(tg: TelegramServer, bot: Bot) -> None:
    api = BotApi(bot)
    sent = await api(send_call(USER, RenderedText("same"), None, None, plain=False))
    same = edit_call(USER, sent["message_id"], RenderedText("same"), plain=False)
    ours, theirs = await both_ways(bot, same)
    assert isinstance(ours, TelegramBadRequest)
    assert "message is not modified" in ours.message
    assert classify(ours) is Failure.NOT_MODIFIED
    assert_same_error(ours, theirs)
    missing = edit_call(USER, 9999, RenderedText("new"), plain=False)
    ours, theirs = await both_ways(bot, missing)
    assert isinstance(ours, TelegramBadRequest)
    assert classify(ours) is Failure.MESSAGE_GONE
    assert_same_error(ours, theirs)


async def test_blocked_user_and_drafts_in_groups(tg: TelegramServer, bot: Bot) -> None:
    draft = draft_call(GROUP, 5, RenderedText("x"), None, can_stop=True, plain=False)
    ours, theirs = await both_ways(bot, draft)
    assert isinstance(ours, TelegramBadRequest)
    assert classify(ours) is Failure.OTHER  # the outbox then streams by edits
    assert_same_error(ours, theirs)
    tg.block_user(USER)
    send = send_call(USER, RenderedText("x"), None, None, plain=False)
    ours, theirs = await both_ways(bot, send)
    assert isinstance(ours, TelegramForbiddenError)
    assert classify(ours) is Failure.CHAT_GONE
    assert_same_error(ours, theirs)


def test_migrate_answer_raises_migrate_to_chat() -> None:
    # Telegram's answer when a group became a supergroup (the fake does not model it).
    body = (
        '{"ok":false,"error_code":400,"description":"Bad Request: group chat was upgraded '
        'to a supergroup chat","parameters":{"migrate_to_chat_id":-1001234}}'
    )
    call = send_call(GROUP, RenderedText("x"), None, None, plain=False)
    with pytest.raises(TelegramMigrateToChat) as error:
        read_answer(call, 400, body)
    assert error.value.migrate_to_chat_id == -1001234
    assert classify(error.value) is Failure.CHAT_GONE


async def test_network_errors_match_aiogram(unused_tcp_port: int) -> None:
    bot = Bot(
        TOKEN,
        session=AiohttpSession(
            api=TelegramAPIServer.from_base(f"http://127.0.0.1:{unused_tcp_port}")
        ),
    )
    try:
        call = typing_call(USER, None)
        ours, theirs = await both_ways(bot, call)
        assert isinstance(ours, TelegramNetworkError)
        assert classify(ours) is Failure.TRANSIENT
        assert_same_error(ours, theirs)
    finally:
        await bot.session.close()


@pytest.mark.slow
async def test_timeout_and_undecodable_answers_match_aiogram() -> None:
    async def slow(request: web.Request) -> web.Response:
        await asyncio.sleep(1)
        return web.json_response({"ok": True, "result": True})

    async def html(request: web.Request) -> web.Response:
        return web.Response(status=502, text="<html>502 Bad Gateway</html>")

    app = web.Application()
    app.router.add_post("/bot{token}/sendChatAction", slow)
    app.router.add_post("/bot{token}/sendMessage", html)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    session = AiohttpSession(api=TelegramAPIServer.from_base(f"http://127.0.0.1:{port}"))
    session.timeout = 0.2
    bot = Bot(TOKEN, session=session)
    try:
        ours, theirs = await both_ways(bot, typing_call(USER, None))
        assert isinstance(ours, TelegramNetworkError)
        assert "timeout" in str(ours)
        assert_same_error(ours, theirs)
        send = send_call(USER, RenderedText("x"), None, None, plain=False)
        ours, theirs = await both_ways(bot, send)
        assert isinstance(ours, ClientDecodeError)
        assert type(theirs) is ClientDecodeError
        assert ours.message == theirs.message == "Failed to decode object"
    finally:
        await bot.session.close()
        await runner.cleanup()


# -- the outbox over the production session -------------------------------------------------


def fast_outbox(bot: Bot) -> Outbox:
    return Outbox(
        bot,
        Pacing(
            private_interval=0.01, group_interval=0.01, retry_after_scale=0.05, backoff=0.01,
        ),
    )


async def test_outbox_streams_over_json_and_waits_out_retry_after(
    tg: TelegramServer, bot: Bot
) -> None:
    outbox = fast_outbox(bot)
    handle = outbox.stream(USER, "private", draft=True, reply_to=1)
    await asyncio.sleep(0.01)  # "Thinking…" goes out before the model's first token
    handle.update("Hello **wor")
    await asyncio.sleep(0.05)
    tg.fail_next("sendMessage", 429, retry_after=2)
    ids = await handle.finish("Hello **world**")
    await outbox.aclose()
    [shown] = tg.chat(USER).bot_messages
    assert ids == [shown.message_id]
    assert (shown.text, shown.reply_to) == ("Hello world", 1)
    assert shown.entities == [{"type": "bold", "offset": 6, "length": 5}]
    statuses = [(c.method, c.status) for c in tg.calls if c.chat_id == USER]
    assert ("sendMessage", 429) in statuses
    assert statuses[-1] == ("sendMessage", 200)
    drafts = tg.chat(USER).drafts
    assert drafts[0].text == ""
    assert any(d.text == "Hello wor" and d.entities for d in drafts)


async def test_outbox_falls_back_to_plain_text_and_to_edits(tg: TelegramServer, bot: Bot) -> None:
    outbox = fast_outbox(bot)
    tg.fail_next("sendMessage", 400, "Bad Request: can't parse entities: no", chat_id=GROUP)
    group = outbox.stream(GROUP, "group", draft=True)  # no drafts in groups: edits
    await group.finish("**all** bold")
    tg.fail_next("sendMessageDraft", 400, "Bad Request: method not available", chat_id=USER)
    private = outbox.stream(USER, "private", draft=True)
    private.update("first words")
    await asyncio.sleep(0.1)
    assert not private.uses_draft  # refused: streamed by edits
    await private.finish("first words and more")
    await outbox.aclose()
    [plain] = tg.chat(GROUP).bot_messages
    assert (plain.text, plain.entities) == ("all bold", [])
    [streamed] = tg.chat(USER).bot_messages
    assert streamed.text == "first words and more"
