"""Voice replies in the database, on SQLite and PostgreSQL: one reply per answer, the daily
budget's counters, the notice claimed once a day, and `bot report`'s voice line."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from bot.features.voice.models import (
    SpeechJob,
    SpokenQuestion,
    VoicePreference,
    VoiceReply,
    VoiceReplyStatus,
    VoiceUsage,
)
from bot.features.voice.report import voice_report
from bot.features.voice.repository import VoiceRepository
from bot.features.voice.speech_jobs import SpeechJobRepository
from bot.storage.database import Database
from bot.storage.models import (
    Chat,
    Conversation,
    Message,
    MessageRole,
    MessageStatus,
    utc_today,
    utcnow,
)
from bot.storage.repositories import PrivacyRepository


async def _answer(database: Database) -> int:
    async with database.sessionmaker() as session:
        session.add(Chat(id=7, type="private"))
        conversation = Conversation(chat_id=7)
        session.add(conversation)
        await session.flush()
        answer = Message(conversation_id=conversation.id, role=MessageRole.ASSISTANT,
                         status=MessageStatus.COMPLETE, text="Hello")
        session.add(answer)
        await session.commit()
        return answer.id


async def test_one_reply_per_answer_and_its_voice_messages(database: Database) -> None:
    answer_id = await _answer(database)
    async with database.sessionmaker() as session:
        repo = VoiceRepository(session)
        reply = await repo.create_reply(answer_id=answer_id, chat_id=7, user_id=7, reply_to=3,
                                        thread_id=None, language="en-US")
        assert reply is not None
        again = await repo.create_reply(answer_id=answer_id, chat_id=7, user_id=7, reply_to=3,
                                        thread_id=None, language="en-US")
        assert again is None, "a replayed answer is never spoken twice"
        await repo.note_sent(reply.id, "AwAC1", 11)
        await session.commit()
    async with database.sessionmaker() as session:
        repo = VoiceRepository(session)
        [pending] = await repo.pending()
        assert (pending.file_ids, pending.message_ids) == (["AwAC1"], [11])
        assert await repo.pending_ids(before=utcnow() + dt.timedelta(seconds=1)) == [reply.id]
        assert await repo.pending_ids(before=utcnow() - dt.timedelta(seconds=60)) == []
        await repo.finish(pending.id, VoiceReplyStatus.SENT, chars=5)
        await session.commit()
    async with database.sessionmaker() as session:
        assert await VoiceRepository(session).pending() == []


async def test_budget_counters_choice_and_one_notice_a_day(database: Database) -> None:
    today = utc_today()
    async with database.sessionmaker() as session:
        repo = VoiceRepository(session)
        assert await repo.preference(5) is None
        await repo.set_preference(5, False)
        await repo.set_preference(5, True)
        await repo.add_usage(5, today, chars=300, replies=1)
        await repo.add_usage(5, today, chars=200, replies=1)
        await repo.add_usage(6, today - dt.timedelta(days=1), chars=900, failures=1)
        assert await repo.claim_notice(5, today) is True
        assert await repo.claim_notice(5, today) is False
        assert await repo.claim_notice(5, today + dt.timedelta(days=1)) is True
        await session.commit()
    async with database.sessionmaker() as session:
        repo = VoiceRepository(session)
        assert await repo.preference(5) is True
        day = await repo.day(5, today)
        assert (day.chars, day.replies, day.notified) == (500, 2, True)
    line = await voice_report(database.sessionmaker, days=7, budget=800)
    assert line == ("Voice replies, last 7 days: 2 sent, 1 failed, 1400 characters spoken; "
                    "1 user(s) reached the daily budget of 800 characters "
                    "(TTS_CHARS_PER_USER_DAY).")


async def test_forget_removes_the_users_voice_data(database: Database) -> None:
    answer_id = await _answer(database)
    today = utc_today()
    async with database.sessionmaker() as session:
        repo = VoiceRepository(session)
        await repo.set_preference(7, True)
        await repo.add_usage(7, today, chars=10, replies=1)
        await repo.create_reply(answer_id=answer_id, chat_id=7, user_id=7, reply_to=None,
                                thread_id=None, language="ru-RU")
        job = await SpeechJobRepository(session).get_or_create(
            chat_id=7, message_id=5, user_id=7, file_id="f", seconds=40, language="ru-RU"
        )
        again = await SpeechJobRepository(session).get_or_create(
            chat_id=7, message_id=5, user_id=7, file_id="f", seconds=40, language="ru-RU"
        )
        assert again.id == job.id, "a replayed note finds its job"
        await SpeechJobRepository(session).set(job.id, text="my secret words")
        await session.commit()
    async with database.sessionmaker() as session:
        await PrivacyRepository(session).forget_user(7)
        await session.commit()
    async with database.sessionmaker() as session:
        for model in (SpeechJob, VoicePreference, VoiceUsage, VoiceReply):
            assert (await session.execute(select(model))).first() is None, model.__name__


async def test_a_question_asked_by_voice_is_known_by_its_stored_row(database: Database) -> None:
    async with database.sessionmaker() as session:
        session.add(Chat(id=7, type="private"))
        conversation = Conversation(chat_id=7)
        session.add(conversation)
        await session.flush()
        spoken = Message(conversation_id=conversation.id, role=MessageRole.USER, text="hi",
                         telegram_message_ids=[41])
        typed = Message(conversation_id=conversation.id, role=MessageRole.USER, text="yo",
                        telegram_message_ids=[42])
        session.add_all([spoken, typed])
        repo = VoiceRepository(session)
        await repo.note_spoken_question(7, 41, user_id=7)
        await repo.note_spoken_question(7, 41, user_id=7)  # a replayed update: noted once
        await repo.note_spoken_question(8, 42, user_id=8)  # another chat's note 42
        await session.commit()
        assert (await repo.voice_facts(spoken.id, None))[0] == 41
        assert (await repo.voice_facts(typed.id, None))[0] is None
        assert (await repo.voice_facts(spoken.id + 100, None))[0] is None
        assert len((await session.execute(select(SpokenQuestion))).all()) == 2
        # With the user's /voice, in the one read every answer makes.
        assert await repo.voice_facts(spoken.id, 7) == (41, None)
        await repo.set_preference(7, False)
        await session.commit()
        assert await repo.voice_facts(spoken.id, 7) == (41, False)
        assert await repo.voice_facts(typed.id, 7) == (None, False)
        assert await repo.voice_facts(0, 8) == (None, None)
        big = Message(conversation_id=conversation.id, role=MessageRole.USER, text="big",
                      telegram_message_ids=[2**40, 5])  # past a 32-bit integer
        session.add(big)
        await repo.note_spoken_question(7, 2**40, user_id=7)
        await session.commit()
        assert await repo.voice_facts(big.id, 7) == (2**40, False)
    async with database.sessionmaker() as session:  # retention: older than the period
        later = dt.datetime.now(dt.UTC) + dt.timedelta(days=31)
        await PrivacyRepository(session).purge_older_than(30, now=later)
        await session.commit()
        assert (await session.execute(select(SpokenQuestion))).first() is None
    async with database.sessionmaker() as session:  # /forget: the user's own notes
        await VoiceRepository(session).note_spoken_question(7, 43, user_id=7)
        await VoiceRepository(session).note_spoken_question(8, 44, user_id=8)
        await session.commit()
        await PrivacyRepository(session).forget_user(7)
        await session.commit()
        rows = (await session.execute(select(SpokenQuestion.message_id))).scalars().all()
        assert rows == [44]
