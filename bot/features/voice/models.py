"""Voice replies (answers spoken with SpeechKit), each user's choice and daily budget, and
long voice notes recognised asynchronously."""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    and_,
)
from sqlalchemy.orm import Mapped, mapped_column

from bot.plugin.storage import (
    Base,
    BigIntegerPK,
    PersonalTable,
    TimestampMixin,
    register_personal,
    string_enum,
    utcnow,
)


class VoiceReplyStatus(enum.StrEnum):
    PENDING = "pending"  # the text is out; the voice is being made or sent
    # A voice message is being sent: a restart finding this cannot tell whether Telegram
    # took it (the Bot API has no way to ask), so it sends it again (docs/voice.md).
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"  # synthesis refused (role, quota, error): the text answer stands
    SKIPPED = "skipped"  # over the user's daily budget


class VoiceReply(TimestampMixin, Base):
    """The spoken form of an answer, stored with it: made once (a restart sends a pending one,
    a sent one is never synthesised again) and sent as a reply to the question."""

    __tablename__ = "voice_replies"
    __table_args__ = (Index("ix_voice_replies_status", "status"),)

    id: Mapped[int] = mapped_column(BigIntegerPK, primary_key=True)
    answer_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("messages.id", ondelete="CASCADE"), unique=True
    )
    chat_id: Mapped[int] = mapped_column(BigInteger)
    user_id: Mapped[int] = mapped_column(BigInteger, index=True)
    reply_to: Mapped[int | None] = mapped_column(BigInteger)
    thread_id: Mapped[int | None] = mapped_column(BigInteger)
    language: Mapped[str] = mapped_column(String(16), default="ru-RU")
    status: Mapped[VoiceReplyStatus] = mapped_column(
        string_enum(VoiceReplyStatus), default=VoiceReplyStatus.PENDING
    )
    chars: Mapped[int] = mapped_column(Integer, default=0)  # characters synthesised
    # The voice messages sent, in order: Telegram file ids (the answer's attachment).
    file_ids: Mapped[list[str]] = mapped_column(JSON, default=list)
    message_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    error: Mapped[str | None] = mapped_column(Text)


class VoicePreference(TimestampMixin, Base):
    """A user's /voice on|off (no row: the deployment's VOICE_REPLIES)."""

    __tablename__ = "voice_preferences"

    user_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    enabled: Mapped[bool] = mapped_column(Boolean)


class VoiceUsage(Base):
    """Characters synthesised per user per UTC day, and whether the user was told today that
    a voice reply failed (at most once a day)."""

    __tablename__ = "voice_usage"

    user_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    day: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    chars: Mapped[int] = mapped_column(Integer, default=0)
    replies: Mapped[int] = mapped_column(Integer, default=0)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    notified: Mapped[bool] = mapped_column(Boolean, default=False)


class SpeechJobStatus(enum.StrEnum):
    PENDING = "pending"  # stored, not submitted yet
    SUBMITTED = "submitted"  # SpeechKit has it: poll `operation_id`, never submit again
    DONE = "done"  # `text` recognised
    FAILED = "failed"


class SpeechJob(TimestampMixin, Base):
    """A long voice note recognised through SpeechKit's asynchronous API: stored before it is
    submitted, so a restart (the update replayed) polls the same operation instead of
    submitting the audio twice."""

    __tablename__ = "speech_jobs"
    __table_args__ = (Index("uq_speech_jobs_chat_message", "chat_id", "message_id", unique=True),)

    id: Mapped[int] = mapped_column(BigIntegerPK, primary_key=True)
    chat_id: Mapped[int] = mapped_column(BigInteger)
    message_id: Mapped[int] = mapped_column(BigInteger)  # the voice note's Telegram id
    user_id: Mapped[int] = mapped_column(BigInteger, index=True)
    file_id: Mapped[str] = mapped_column(String(256))
    seconds: Mapped[int] = mapped_column(Integer, default=0)
    language: Mapped[str] = mapped_column(String(16), default="ru-RU")
    operation_id: Mapped[str | None] = mapped_column(String(128))
    status: Mapped[SpeechJobStatus] = mapped_column(
        string_enum(SpeechJobStatus), default=SpeechJobStatus.PENDING
    )
    text: Mapped[str | None] = mapped_column(Text)
    error: Mapped[str | None] = mapped_column(Text)
    status_message_id: Mapped[int | None] = mapped_column(BigInteger)  # "Listening…"


class SpokenQuestion(Base):
    """A question asked by voice: the note leaves no trace in the stored question's text, so
    an answer given again (/retry, a restart) still knows to be spoken (VOICE_REPLIES=mirror)."""

    __tablename__ = "spoken_questions"
    __table_args__ = (
        Index("uq_spoken_questions_chat_message", "chat_id", "message_id", unique=True),
    )

    id: Mapped[int] = mapped_column(BigIntegerPK, primary_key=True)
    chat_id: Mapped[int] = mapped_column(BigInteger)
    message_id: Mapped[int] = mapped_column(BigInteger)  # the voice note's Telegram id
    user_id: Mapped[int] = mapped_column(BigInteger, index=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


# A user's voice rows go with them on /forget; retention removes long notes' transcripts once
# their question is stored or refused, and the marks of spoken questions.
register_personal(
    PersonalTable(
        SpeechJob,
        expired=lambda cutoff: and_(
            SpeechJob.status.in_((SpeechJobStatus.DONE, SpeechJobStatus.FAILED)),
            SpeechJob.created_at < cutoff,
        ),
    ),
    PersonalTable(SpokenQuestion, expired=lambda cutoff: SpokenQuestion.created_at < cutoff),
    PersonalTable(VoicePreference),
    PersonalTable(VoiceUsage),
    PersonalTable(VoiceReply),
)
