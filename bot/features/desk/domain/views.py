"""What the desk's decisions return: plain, frozen views of a requester, a case, a relay, a
turn, a rating comment and a retention purge (no ORM row leaves the desk service)."""

from __future__ import annotations

from dataclasses import dataclass

from bot.features.desk.storage.models import (
    DeskCase,
    DeskRelay,
    DeskStatus,
    DeskTopic,
    HandoffReason,
    RelayDirection,
)


@dataclass(frozen=True, slots=True)
class Requester:
    user_id: int
    name: str
    language: str | None = None


@dataclass(frozen=True, slots=True)
class CaseView:
    id: int
    user_id: int
    status: DeskStatus
    user_name: str
    language: str | None
    reason: HandoffReason | None
    card_message_id: int | None
    thread_id: int | None  # the user's topic, when one exists
    topic_closed: bool

    @classmethod
    def of(cls, case: DeskCase, topic: DeskTopic | None) -> CaseView:
        return cls(
            case.id, case.user_id, case.status, case.user_name, case.language,
            case.handoff_reason, case.card_message_id,
            topic.thread_id if topic is not None else None,
            topic.closed if topic is not None else False,
        )


@dataclass(frozen=True, slots=True)
class Handoff:
    case: CaseView
    started: bool  # False: the user was already waiting for or talking to a person


@dataclass(frozen=True, slots=True)
class RelayView:
    id: int
    case_id: int
    user_id: int
    direction: RelayDirection
    source_chat_id: int
    source_message_id: int
    target_chat_id: int
    thread_id: int | None
    target_message_id: int | None

    @classmethod
    def of(cls, r: DeskRelay) -> RelayView:
        return cls(
            r.id, r.case_id, r.user_id, r.direction, r.source_chat_id, r.source_message_id,
            r.target_chat_id, r.thread_id, r.target_message_id,
        )


@dataclass(frozen=True, slots=True)
class TurnNote:
    turn_id: int
    case_id: int
    hand_over: bool  # the second "not found" in a row


@dataclass(frozen=True, slots=True)
class RatingComment:
    """What a user wrote after rating the help; `thread_id`: their topic, when one exists."""

    case_id: int
    user_id: int
    score: int | None
    text: str
    thread_id: int | None


@dataclass(frozen=True, slots=True)
class Purge:
    topics: list[tuple[int, int]]  # (user, thread) to delete whole
    messages: list[int]  # message ids to delete in topics that stay
