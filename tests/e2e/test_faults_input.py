"""Fault suite, bad input: empty messages, 4,096 characters of mixed scripts and emoji,
Markdown-breaking text, commands with garbage arguments, unknown commands, media, messages
from channels and bots, and a flood of 50 messages in a second.

All scenarios share one bot (faults_world.py; RATE_LIMIT_PER_MINUTE=5) and run at the same
time, each in its own chats.
"""

from __future__ import annotations

import asyncio
import re
from typing import Any

import pytest

from bot.features.documents.support import DOCUMENT_TEXTS
from bot.telegram.media.texts import MEDIA_TEXTS
from bot.testing.telegram.wire import utf16_len
from bot.testing.yandex.scripts import Reply
from tests.e2e.faults_table import scenario
from tests.e2e.faults_world import EN, Script, World, shared, template

pytestmark = [pytest.mark.asyncio(loop_scope="session"),
              pytest.mark.timeout(180)]

OK = [("user", "complete"), ("assistant", "complete")]
# Scripts, emoji (surrogate pairs, ZWJ sequences, flags, skin tones), combining marks and
# right-to-left text; no Markdown syntax, so the visible text must equal the model's.
PIECES = [
    "Привет, мир", "مرحبا بالعالم", "你好，世界", "こんにちは世界", "안녕하세요", "नमस्ते दुनिया",
    "שלום עולם", "Γειά σου κόσμε", "Ça va bien, naïve café", "e\u0301te\u0301", "😀", "👩‍💻",
    "🇫🇷🇯🇵", "👍🏽", "\u200fעברית\u200e", "𝔘𝔫𝔦𝔠𝔬𝔡𝔢", "ไทย", "ქართული",
]


def mixed_text(units: int, tail: str) -> str:
    """Exactly ``units`` UTF-16 code units of mixed scripts, ending with ``tail``."""
    words: list[str] = []
    size = utf16_len(tail) + 1
    index = 0
    while True:
        piece = PIECES[index % len(PIECES)]
        sep = "\n\n" if index % 12 == 11 else " "
        if size + utf16_len(piece + sep) > units:
            break
        words.append(piece + sep)
        size += utf16_len(piece + sep)
        index += 1
    text = "".join(words) + "x" * (units - size) + " " + tail
    assert utf16_len(text) == units
    return text


def squeeze(text: str) -> str:
    return re.sub(r"\s+", "", text)


@shared("empty message (whitespace only, or only the bot's @mention): help text")
async def test_input_empty_message(w: World) -> None:
    w.tg.send_user_message(4101, "\u3000\u00a0 \t")
    w.tg.send_user_message(
        -4102, "@fm_test_bot", chat_type="supergroup", title="Mentions", user={"id": 4102}
    )
    # /help's text: fmbot's commands, then the features' (/image's own line among them).
    for chat in (4101, -4102):
        [shown] = await w.until(f"help in {chat}", lambda chat=chat: w.texts(chat))
        assert shown.startswith(EN["help"] + "\n\n")
        assert EN["help_image"] in shown
        await w.shows(chat, [shown])
    assert w.roles(4101) == [], "nothing to store"
    assert w.roles(-4102) == [], "nothing to store"


@shared("invisible-character message (Hangul filler): answered like any text")
async def test_input_invisible_message(w: World) -> None:
    w.tg.send_user_message(4103, "\u3164")
    await w.shows(4103, ["Echo: \u3164"])
    rows = await w.stored(4103, OK)
    assert rows[0]["text"] == "\u3164"


@shared("edited message: the newest question answered anew")
async def test_input_edited_message(w: World) -> None:
    chat = 4119
    w.tg.send_user_message(chat, "What is a river?")
    await w.shows(chat, ["Echo: What is a river?"])
    [question] = [m for m in w.tg.chat(chat).messages if not m.from_bot]
    w.tg.edit_user_message(chat, question.message_id, "What is a lake?")
    w.tg.send_user_message(chat, "And a sea?")  # answered after the edit was handled
    await w.shows(chat, ["Echo: What is a river?", "Echo: What is a lake?", "Echo: And a sea?"])
    rows = await w.stored(chat, OK + OK + OK)
    assert [r["text"] for r in rows[::2]] == ["What is a river?", "What is a lake?", "And a sea?"]


@shared("4,096 characters of mixed scripts and emoji: stored exactly, answer split, none lost")
async def test_input_long_mixed_scripts(w: World) -> None:
    chat = 4104
    text = mixed_text(4096, w.tag(chat))
    reply = "Echo: " + text  # 4,102 units: more than one message can hold
    w.script(chat, Script(Reply(reply, chunks=4, interval=0.2)))
    w.tg.send_user_message(chat, text)
    shown = await w.until("the whole answer", lambda: squeeze("".join(w.texts(chat))) ==
                          squeeze(reply) and w.texts(chat))
    assert len(shown) == 2
    assert all(utf16_len(t) <= 4096 for t in shown)
    w.settled[chat] = list(shown)
    rows = await w.stored(chat, OK)
    assert rows[0]["text"] == text
    assert rows[1]["text"] == reply


@shared("Markdown-breaking text from the user and the model: delivered, nothing fails")
async def test_input_markdown_breaking(w: World) -> None:
    chat = 4105
    tag = w.tag(chat)
    question = f"**bold _it `code [link](http://x.org ```py <b> & \\ {tag}"
    reply = (
        "Here is **bold without end and _italic and `code and [a link](http://exa\n\n"
        "```python\nprint('unclosed fence')\n\n<b>not html</b> & 1 < 2 > 0 \\ * _ ~ |"
    )
    w.script(chat, Script(Reply(reply, chunks=5, interval=0.2)))
    w.tg.send_user_message(chat, question)
    [final] = await w.until(
        "the final answer",
        lambda: [t for t in w.texts(chat) if "unclosed fence" in t and "not html" in t],
    )
    await w.shows(chat, [final])
    assert "bold without end" in final
    assert "print('unclosed fence')" in final
    rows = await w.stored(chat, OK)
    assert rows[0]["text"] == question
    assert rows[1]["text"] == reply


GARBAGE = [
    (4106, "/image 7:3 a cat", "image_bad_ratio"),
    (4107, "/image seed=xyz a cat", "image_bad_seed"),
    (4108, "/image " + "x" * 600, "image_too_long"),
    (4109, "/image 16:9", "image_usage"),
    (4110, "/model \u0000\u0007 ../../etc/passwd; DROP TABLE chats; -- ☃" * 3, "model_unknown"),
    (4111, "/retry now please!!! \U0001f525", "retry_nothing"),
    (4112, "/start@fm_test_bot \u202e\u0000 junk", "start"),
    (4113, "/stats " + "🙂" * 50, "stats_user"),
]


@shared("commands with garbage arguments: a clear reply each, nothing generated")
async def test_input_command_garbage_arguments(w: World) -> None:
    for chat, command, _ in GARBAGE:
        w.tg.send_user_message(chat, command)

    async def check(chat: int, key: str) -> None:
        pattern = template(key)
        await w.until(f"{key} in chat {chat}", lambda: w.texts(chat))
        await asyncio.sleep(0.3)
        texts = w.texts(chat)
        assert len(texts) == 1, (chat, texts)
        # /stats adds a line per feature that counts (voice replies, web searches) below its own.
        shown = texts[0].split("\n")[0] if key.startswith("stats") else texts[0]
        assert pattern.fullmatch(shown), (chat, texts)
        w.settled[chat] = texts

    await asyncio.gather(*(check(chat, key) for chat, _, key in GARBAGE))
    chats = {chat for chat, _, _ in GARBAGE}
    assert [j for j in w.e2e.db.image_jobs() if j["chat_id"] in chats] == []
    assert all(w.roles(chat) == [] for chat in chats)


@shared("unknown commands: 'unknown command' reply; another bot's command ignored")
async def test_input_unknown_commands(w: World) -> None:
    w.tg.send_user_message(4114, "/frobnicate now")
    group: dict[str, Any] = {"chat_type": "supergroup", "title": "Bots", "user": {"id": 4115}}
    w.tg.send_user_message(-4115, "/frobnicate@other_bot now", **group)
    w.tg.send_user_message(-4115, "/frobnicate@fm_test_bot now", **group)
    await w.shows(4114, [EN["unknown_command"]])
    await w.shows(-4115, [EN["unknown_command"]])


MEDIA: list[dict[str, Any]] = [
    {"sticker": {"file_id": "st1", "file_unique_id": "ust1", "type": "regular", "width": 512,
                 "height": 512, "is_animated": False, "is_video": False}},
    {"location": {"latitude": 55.75, "longitude": 37.62}},
]
# Photos and voice are taken (issue 28): ones whose file Telegram no longer has are refused.
GONE: list[tuple[dict[str, Any], str]] = [
    ({"photo": [{"file_id": "ph1", "file_unique_id": "uph1", "width": 90, "height": 90}],
      "caption": "what is this?"}, MEDIA_TEXTS["media_download_failed"]["en"]),
    ({"voice": {"file_id": "vo1", "file_unique_id": "uvo1", "duration": 3}},
     MEDIA_TEXTS["voice_failed"]["en"]),
]


@shared("media the bot does not read (sticker, archive, location): what it does read; a photo "
        "or voice whose file is gone: a clear reply")
async def test_input_media(w: World) -> None:
    for extra in MEDIA:
        w.tg.send_user_message(4116, "", extra=extra)
    # A sticker is called a sticker (issue 64 item 8); the rest are what the bot does read.
    await w.shows(4116, [EN["sticker"], MEDIA_TEXTS["media_unsupported"]["en"]])
    assert w.roles(4116) == []
    # A document of a type not read (issue 28): the formats that are, without a download.
    archive = {"document": {"file_id": "do1", "file_unique_id": "udo1", "file_name": "a.zip"}}
    w.tg.send_user_message(4121, "", extra=archive)
    await w.shows(4121, [DOCUMENT_TEXTS["document_unsupported"]["en"].format(kind=".zip")])
    assert w.roles(4121) == []
    for chat, (extra, reply) in enumerate(GONE, start=4126):
        w.tg.send_user_message(chat, "", extra=extra)
        await w.shows(chat, [reply])
        assert w.roles(chat) == []


@shared("messages from channels and other bots: ignored, nothing stored or generated")
async def test_input_channels_and_bots(w: World) -> None:
    tag = w.script(4117, Script(Reply("Hello, human.")))
    channel = {"id": -1004117, "type": "channel", "title": "News"}
    w.tg.send_update({"channel_post": {
        "message_id": 1, "date": 1_700_000_000, "chat": channel, "sender_chat": channel,
        "text": f"@fm_test_bot hello from a channel {tag}",
    }})
    group: dict[str, Any] = {"chat_type": "supergroup", "title": "Mixed"}
    as_channel = {"id": 136817688, "is_bot": True, "first_name": "Channel",
                  "username": "Channel_Bot"}
    w.tg.send_user_message(-4117, f"@fm_test_bot posted as a channel {tag}", user=as_channel,
                           extra={"sender_chat": channel}, **group)
    other_bot = {"id": 5550001, "is_bot": True, "first_name": "Other", "username": "other_bot"}
    w.tg.send_user_message(-4117, f"@fm_test_bot hello from a bot {tag}", user=other_bot, **group)
    # A person last: once they are answered, the earlier updates were handled too.
    w.tg.send_user_message(-4117, f"@fm_test_bot hello {tag}", user={"id": 4117}, **group)
    await w.shows(-4117, ["Hello, human."])
    rows = await w.stored(-4117, OK)
    assert rows[0]["author_user_id"] == 4117
    assert w.served(4117) == 1
    assert w.tg.calls_for(chat_id=-1004117) == []


@shared("a flood of 50 messages from one user in a second: 5 answered in order, one notice")
async def test_input_flood(w: World) -> None:
    chat = 4118
    for n in range(1, 51):
        w.tg.send_user_message(chat, f"flood {n}")
        await asyncio.sleep(0.02)
    answers = [f"Echo: flood {n}" for n in range(1, 6)]
    notice = template("rate_limited")
    await w.until(
        "five answers and one notice",
        lambda: (
            [t for t in w.texts(chat) if t.startswith("Echo:")] == answers
            and sum(bool(notice.fullmatch(t)) for t in w.texts(chat)) == 1
        ),
    )
    assert len(w.texts(chat)) == 6, w.texts(chat)
    w.settled[chat] = w.texts(chat)
    await w.stored(chat, OK * 5)


@shared("button presses with garbage data (old or forged keyboards): answered silently")
async def test_input_garbage_buttons(w: World) -> None:
    chat = 4120
    w.tg.send_user_message(chat, "/forget")
    [prompt] = await w.until("the /forget confirmation", lambda: w.tg.chat(chat).bot_messages)
    queries = [
        w.tg.send_callback_query(chat, prompt.message_id, data)
        for data in ("\u0000" * 10, "model:99", "forget:yes:1", "forget:", "🙂" * 16)
    ]
    await w.until(
        "every press answered", lambda: all(w.tg.callback_answers[str(q)] for q in queries)
    )
    await asyncio.sleep(0.5)
    assert w.texts(chat) == [EN["forget_confirm"]], "nothing changed, nothing deleted"
    w.settled[chat] = w.texts(chat)


@scenario("shared bot after the bad input: alive, consistent, nothing answered twice")
async def test_shared_bot_after_bad_input(world: World) -> None:
    # Also the end of every shared scenario: the fakes run in this session's event loop, which
    # stands still while tests with their own loop (the process and webhook modules) run.
    await world.quiet_check()
