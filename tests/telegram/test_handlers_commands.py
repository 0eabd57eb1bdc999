"""Commands, access control, quotas, other content and the errors router, through the real
Dispatcher."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiogram import Bot
from aiogram.filters import Command
from aiogram.methods import AnswerCallbackQuery, SendMessage, SetMyCommands
from aiogram.types import Message, Sticker
from sqlalchemy import func, select

from bot.storage.database import Database
from bot.storage.models import Chat as StoredChat
from bot.storage.models import DailyUsage, MessageRole, User, utc_today
from bot.storage.models import Message as StoredMessage
from bot.storage.repositories import DailyCounts, UsageRepository, UserRepository
from bot.telegram.deps import BotOptions
from tests.telegram.harness import ANNA, BORIS, GROUP, Harness, running_app

OPTIONS = BotOptions(
    text_models=("yandexgpt-lite", "yandexgpt/latest"),
    default_system_prompt="You are a helpful assistant.",
)


@pytest.fixture
async def h(sqlite_database: Database) -> AsyncIterator[Harness]:
    async with running_app(sqlite_database, admins=[ANNA.id]) as harness:
        yield harness


async def count(h: Harness, model: type) -> int:
    async with h.db.sessionmaker() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def test_start_and_help_in_the_users_language(h: Harness) -> None:
    await h.send("/start")
    await h.send("/help", who=BORIS)
    await h.settle()
    assert h.texts(ANNA.id)[0].startswith("Hi, Anna!")
    assert h.texts(BORIS.id)[0].startswith("Напишите любой текст")
    assert h.model_requests() == []
    assert "Besides text" not in h.texts(ANNA.id)[-1], "no photos, voice or documents here"


async def test_commands_are_registered_in_english_and_russian(h: Harness) -> None:
    await h.app.set_commands()
    calls = {c.language_code: c for c in h.calls(SetMyCommands)}  # the last per language
    assert set(calls) == {None, "ru"}
    names = [c.command for c in calls[None].commands]
    assert {"start", "help", "reset", "retry", "stop", "image", "model", "forget"} <= set(names)
    assert calls["ru"].commands[0].description == "Начать"


async def test_allowed_updates_include_the_stop_button(h: Harness) -> None:
    assert "stopped_message_generation" in h.app.allowed_updates
    assert {"message", "callback_query", "edited_message"} <= set(h.app.allowed_updates)


async def test_reset_starts_a_new_conversation(h: Harness) -> None:
    await h.send("remember 42")
    await h.send("/reset")
    await h.send("what number?")
    await h.settle()
    assert h.texts(ANNA.id)[1].startswith("Started a new conversation.")
    last_prompt = h.completions()[-1]["messages"]
    assert [m["text"] for m in last_prompt if m["role"] == "user"] == ["what number?"]


async def test_retry_answers_the_last_question_again(h: Harness) -> None:
    await h.send("/retry")
    await h.settle()
    assert h.texts(ANNA.id) == ["There is nothing to retry yet: send me a message first."]
    h.fm.queue_reply("first take")
    h.fm.queue_reply("second take")
    await h.send("a question")
    await h.send("/retry")
    await h.settle()
    assert h.texts(ANNA.id)[1:] == ["first take", "second take"]
    async with h.db.sessionmaker() as session:
        answers = await session.scalars(
            select(StoredMessage.text).where(StoredMessage.role == MessageRole.ASSISTANT)
        )
        assert list(answers) == ["second take"]


async def test_model_is_shown_and_chosen_per_chat(h: Harness) -> None:
    await h.send("/model")
    await h.settle()
    keyboard = next(m for m in h.calls(SendMessage) if m.reply_markup is not None).reply_markup
    assert [row[0].callback_data for row in keyboard.inline_keyboard] == ["model:0", "model:1"]
    await h.press("model:1", on=h.message("menu"))
    await h.send("hi")
    await h.settle()
    assert h.completions()[-1]["modelUri"].endswith("/yandexgpt/latest")
    assert h.calls(AnswerCallbackQuery)
    await h.send("/model gpt-7")
    await h.send("/model yandexgpt-lite")
    await h.settle()
    assert "Unknown model gpt-7" in h.texts(ANNA.id)[-2]
    async with h.db.sessionmaker() as session:
        chat = await session.get(StoredChat, ANNA.id)
        assert chat is not None
        assert chat.model is None  # back to the deployment's default


async def test_system_prompt_is_for_admins_only(h: Harness) -> None:
    await h.send("/system Talk like a pirate.", who=BORIS)
    await h.send("/system Talk like a pirate.")
    await h.send("ahoy")
    await h.settle()
    assert h.texts(BORIS.id) == ["Это могут только администраторы бота."]
    system = h.completions()[-1]["messages"][0]
    assert system == {"role": "system", "text": "Talk like a pirate."}
    await h.send("/system")
    await h.send("/system clear")
    await h.settle()
    assert "Talk like a pirate." in h.texts(ANNA.id)[-2]
    assert h.texts(ANNA.id)[-1] == "This chat uses the default system prompt again."


async def test_stats_show_usage_and_admin_totals(h: Harness) -> None:
    await h.send("count my tokens")
    await h.settle()
    await h.send("/stats")
    await h.send("/stats", who=BORIS)
    await h.settle()
    mine = h.texts(ANNA.id)[-1]
    assert mine.startswith("Today you used ")
    assert "The bot today:" in mine  # Anna is an admin
    assert "Бот за сегодня" not in h.texts(BORIS.id)[-1]
    assert "hidden reasoning" not in mine  # none spent yet


async def test_stats_name_the_reasoning_tokens_of_the_day(h: Harness) -> None:
    from bot.storage.repositories.usage import UsageRepository

    async with h.db.sessionmaker() as session:
        await UsageRepository(session).add(BORIS.id, utc_today(), tokens=40, reasoning_tokens=12)
        await session.commit()
    await h.send("/stats", who=BORIS)
    await h.settle()
    mine = h.texts(BORIS.id)[-1]
    assert "40 токенов" in mine
    assert "Из них 12 токенов ушло на скрытые рассуждения модели." in mine


async def test_stats_show_the_features_daily_counts(h: Harness) -> None:
    async with h.db.sessionmaker() as session:
        counts = DailyCounts(session)
        await counts.add(BORIS.id, utc_today(), "images", 2)
        await counts.add(BORIS.id, utc_today(), "photos", 3)
        await counts.add(BORIS.id, utc_today(), "speech_seconds", 41)
        await counts.add(ANNA.id, utc_today(), "images", 1)
        await session.commit()
    await h.send("/stats", who=BORIS)
    await h.send("/stats")
    await h.settle()
    # Each feature's line, in the features' order, after the tokens.
    boris = h.texts(BORIS.id)[-1].split("\n")
    assert boris[0].startswith("Сегодня вы израсходовали 0 токенов")
    assert boris[1:] == ["Фото: 3.", "Распознано голоса: 41 с.",
                         "Картинки: сегодня вы израсходовали 2 картинки (лимит: нет)."]
    anna = h.texts(ANNA.id)[-1]
    assert "Images: you used 1 image today (limit: none)." in anna
    assert "Photos:" not in anna  # none today
    assert "Voice recognised" not in anna
    assert anna.endswith("The bot today: 0 tokens for all users.\n"
                         "Images today: 3 images for all users.")


async def test_daily_image_budget(sqlite_database: Database) -> None:
    async with running_app(sqlite_database, daily_images=2, admins=[ANNA.id]) as h:
        async with h.db.sessionmaker() as session:
            await DailyCounts(session).add(BORIS.id, utc_today(), "images", 2)
            await DailyCounts(session).add(ANNA.id, utc_today(), "images", 2)
            await session.commit()
        await h.send("/image a cat", who=BORIS)
        await h.send("/stats", who=BORIS)
        await h.send("/image", who=ANNA)  # admins have no limit
        await h.settle()
        assert h.texts(BORIS.id)[0] == (
            "Вы израсходовали дневной лимит в 2 картинки. Он обновится в полночь UTC.")
        assert "сегодня вы израсходовали 2 картинки (лимит: 2)." in h.texts(BORIS.id)[1]
        assert h.texts(ANNA.id)[0].startswith("Usage: /image <prompt>")
        assert h.fm.requests == []


async def test_forget_deletes_my_data_after_confirmation(h: Harness) -> None:
    await h.send("my secret")
    await h.send("/forget")
    await h.settle()
    menu = next(m for m in h.calls(SendMessage) if m.reply_markup is not None)
    yes = menu.reply_markup.inline_keyboard[0][0].callback_data
    assert yes == f"forget:yes:{ANNA.id}"
    shown = h.message("menu")
    await h.press(yes, who=BORIS, on=shown)  # someone else's press does nothing
    assert await count(h, StoredMessage) == 2
    await h.press(f"forget:no:{ANNA.id}", on=shown)
    assert await count(h, StoredMessage) == 2
    await h.press(yes, on=shown)
    assert await count(h, StoredMessage) == 0
    async with h.db.sessionmaker() as session:
        assert await session.get(User, ANNA.id) is None


@pytest.mark.slow
async def test_privacy_tells_the_retention(sqlite_database: Database) -> None:
    options = BotOptions(text_models=("yandexgpt-lite",), retention_days=30)
    async with running_app(sqlite_database, options=options) as h:
        await h.send("/privacy")
        await h.settle()
        assert "30 days" in h.texts(ANNA.id)[0]


async def test_outsiders_get_one_refusal_and_cost_nothing(sqlite_database: Database) -> None:
    async with running_app(sqlite_database, allowed_users=[ANNA.id]) as h:
        for text in ("hello", "/start", "/image a cat", "hello again"):
            await h.send(text, who=BORIS)
        await h.settle()
        assert h.texts(BORIS.id) == ["Извините, это частный бот, и он вам недоступен."]
        assert h.fm.requests == []
        assert await count(h, User) == 0
        assert await count(h, StoredMessage) == 0
        await h.send("hi")  # Anna is allowed
        await h.settle()
        assert h.texts(ANNA.id) == ["Echo: hi"]


async def test_blocked_users_are_ignored(h: Harness) -> None:
    await h.send("/start", who=BORIS)
    await h.settle()
    async with h.db.sessionmaker() as session:
        await UserRepository(session).set_blocked(BORIS.id, True)
        await session.commit()
    h.app.deps.seen.forget(BORIS.id)  # flags set in the database apply within RecentlySeen.ttl
    await h.send("hello", who=BORIS)
    await h.settle()
    assert len(h.texts(BORIS.id)) == 1
    assert h.fm.requests == []


async def test_rate_limit_tells_once(sqlite_database: Database) -> None:
    async with running_app(sqlite_database, rate_limit_per_minute=2) as h:
        for n in range(5):
            await h.send(f"message {n}")
        await h.settle()
        shown = h.texts(ANNA.id)
        assert len(shown) == 3
        assert [s for s in shown if s.startswith("Echo")] == ["Echo: message 0", "Echo: message 1"]
        notice = next(s for s in shown if not s.startswith("Echo"))
        assert notice.startswith("You are sending messages too fast. Please wait")
        assert len(h.model_requests()) == 2


async def test_daily_token_budget(sqlite_database: Database) -> None:
    options = BotOptions(text_models=("yandexgpt-lite",), daily_token_limit=100)
    async with running_app(sqlite_database, options=options) as h:
        async with h.db.sessionmaker() as session:
            await UsageRepository(session).add(ANNA.id, utc_today(), tokens=100)
            await session.commit()
        await h.send("one more?")
        await h.settle()
        assert h.texts(ANNA.id) == [
            "You have used today's limit of 100 tokens. It resets at midnight UTC."
        ]
        assert h.model_requests() == []


async def test_answers_are_charged_to_the_speaker(h: Harness) -> None:
    await h.send("charge me")
    await h.settle()
    async with h.db.sessionmaker() as session:
        usage = await session.get(DailyUsage, (ANNA.id, utc_today()))
        assert usage is not None
        assert usage.tokens > 0


STICKER_REPLY = "That is a sticker: I answer questions in words. Please write yours as a message."


async def test_unknown_commands_and_other_content(h: Harness) -> None:
    await h.send("/frobnicate")
    await h.send(
        None,
        sticker=Sticker(
            file_id="s",
            file_unique_id="s",
            type="regular",
            width=1,
            height=1,
            is_animated=False,
            is_video=False,
        ),
    )
    await h.send("/frobnicate@other_bot", chat=GROUP)  # another bot's command: silence
    await h.settle()
    assert h.texts(ANNA.id) == [
        "I don't know that command. /help lists the ones I know.",
        # Issue 64 item 8: a sticker is called a sticker, not "text only" or "this kind of
        # file".
        STICKER_REPLY,
    ]
    assert h.texts(GROUP.id) == []


async def test_edited_messages_are_ignored_on_purpose(
    h: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="bot.telegram.handlers.other")
    edited = h.message("edited text")
    await h.feed(h.update(edited_message=edited))
    await h.settle()
    assert h.telegram.sent == []
    assert "edited message" in caplog.text


async def test_handler_errors_are_logged_and_apologised_for(
    h: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    async def boom(message: Message) -> None:
        raise RuntimeError("kaboom")

    h.app.dp.message.register(boom, Command("boom"))
    update = await h.send("/boom")
    await h.send("still alive?")
    await h.settle()
    assert h.texts(ANNA.id) == [
        "Sorry, something went wrong on my side. Please try again.",
        "Echo: still alive?",
    ]
    record = next(r for r in caplog.records if "kaboom" in repr(r.exc_info))
    assert record.update_id == update.update_id  # type: ignore[attr-defined]


@pytest.mark.slow
async def test_the_apology_goes_through_the_outbox_and_outlasts_a_flood_wait(
    h: Harness,
) -> None:
    """Sent outside the outbox, a 429 lost the apology (and it counted in no budget)."""

    async def boom(message: Message) -> None:
        raise RuntimeError("kaboom")

    h.app.dp.message.register(boom, Command("boom"))
    h.telegram.fail_next("sendMessage", 429, retry_after=1)
    await h.send("/boom")
    await h.settle()
    assert h.texts(ANNA.id) == ["Sorry, something went wrong on my side. Please try again."]
    sends = [r for r in h.telegram.sent if r.method == "sendMessage"]
    assert [r.status for r in sends] == [429, 200]


async def test_reset_in_a_group(h: Harness) -> None:
    await h.send("/reset", chat=GROUP)
    await h.settle()
    assert h.texts(GROUP.id) == [
        "Started a new conversation. Earlier messages are no longer in context."
    ]


async def test_a_flood_of_stickers_gets_few_replies_and_stop_always_works(
    sqlite_database: Database,
) -> None:
    sticker = Sticker(
        file_id="s", file_unique_id="s", type="regular", width=1, height=1,
        is_animated=False, is_video=False,
    )
    async with running_app(sqlite_database, rate_limit_per_minute=3) as h:
        for _ in range(10):
            await h.send(None, sticker=sticker)
        await h.send("/stop")
        await h.settle()
        shown = h.texts(ANNA.id)
        assert shown.count(STICKER_REPLY) == 3
        assert sum(s.startswith("You are sending messages too fast") for s in shown) == 1
        assert shown[-1] == "Nothing is being written right now."


async def test_kb_is_for_admins_and_says_when_the_knowledge_base_is_off(h: Harness) -> None:
    # Issue 16: the app here has no knowledge base (KB_MODE off).
    await h.send("/kb", who=BORIS)
    await h.send("/kb")
    await h.settle()
    assert h.texts(BORIS.id) == ["Это могут только администраторы бота."]
    off = "The knowledge base is off (set KB_PATH to a folder of documents)."
    assert h.texts(ANNA.id) == [off]


async def test_operator_without_a_desk_says_there_is_no_desk(h: Harness) -> None:
    await h.send("/operator")
    await h.settle()
    assert h.texts(ANNA.id) == [
        "There is no support desk here: this bot has no people to hand the conversation to. "
        "I will keep answering your questions myself."
    ]


async def test_help_says_which_media_the_bot_takes(sqlite_database: Database) -> None:
    from bot.features.documents.chat import ChatDocuments
    from bot.features.documents.support import DocumentSupport
    from bot.features.documents.telegram import documents_on_telegram
    from bot.features.voice.hearing import VoiceNotes
    from bot.features.voice.notes import VoiceInput
    from bot.foundation_models.auth import ApiKeyAuth
    from bot.foundation_models.speech import SpeechRecognizer
    from bot.reading.reading import DocumentReader
    from bot.telegram.downloads import TelegramFiles

    recognizer = SpeechRecognizer(base_url="http://127.0.0.1:9", auth=ApiKeyAuth("k"),
                                  folder_id="f")

    def media(bot: Bot, fm_url: str) -> dict[str, Any]:
        files = TelegramFiles(bot)
        return {"voice_input": VoiceInput(VoiceNotes(files, recognizer)),
                # No worker until a document is read.
                "features": [lambda front: documents_on_telegram(front, DocumentSupport(
                    files, DocumentReader(), ChatDocuments(sqlite_database.sessionmaker)))]}

    async with running_app(sqlite_database, parts=media) as h:
        await h.send("/help")
        await h.send("/help", who=BORIS)
        await h.settle()
        english, russian = h.texts(ANNA.id)[-1], h.texts(BORIS.id)[-1]
    assert "Besides text, send me:\n• voice notes" in english
    assert "PDF, DOCX and text files" in english
    assert "photos" not in english, "no VISION_MODEL: photos are not offered"
    assert "голосовые сообщения" in russian
