"""SUPPORT_HOURS parsing and arithmetic; the words that ask for a person or thank."""

from __future__ import annotations

import datetime as dt

import pytest

from bot.features.desk.domain import (
    HoursFormatError,
    SupportHours,
    asks_for_person,
    is_question,
    is_thanks,
)

MSK = dt.timezone(dt.timedelta(hours=3))


def at(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text)


def test_weekdays_within_hours_in_the_desk_time_zone() -> None:
    hours = SupportHours.parse("Mon-Fri 09:00-18:00", "Europe/Moscow")
    assert hours.is_open(at("2026-11-23T06:00:00+00:00"))  # Monday 09:00 in Moscow
    assert not hours.is_open(at("2026-11-23T05:59:00+00:00"))
    assert not hours.is_open(at("2026-11-23T15:00:00+00:00"))  # 18:00 Moscow: closed
    assert not hours.is_open(at("2026-11-28T10:00:00+00:00"))  # Saturday


def test_next_open_skips_the_weekend() -> None:
    hours = SupportHours.parse("Mon-Fri 09:00-18:00; Sat 10:00-12:00", "UTC")
    friday_night = at("2026-11-27T20:00:00+00:00")
    assert hours.next_open(friday_night) == at("2026-11-28T10:00:00+00:00")
    saturday_noon = at("2026-11-28T12:30:00+00:00")
    assert hours.next_open(saturday_noon) == at("2026-11-30T09:00:00+00:00")


def test_open_seconds_count_only_the_hours() -> None:
    hours = SupportHours.parse("Mon-Fri 09:00-18:00", "UTC")
    # Friday 17:00 -> Monday 10:00: one hour on Friday, one on Monday.
    start, end = at("2026-11-27T17:00:00+00:00"), at("2026-11-30T10:00:00+00:00")
    assert hours.open_seconds(start, end) == 2 * 3600
    always = SupportHours.parse("")
    assert always.always
    assert always.open_seconds(start, end) == (end - start).total_seconds()


@pytest.mark.parametrize(
    "spec", ["Mon-Fri", "Funday 09:00-10:00", "Mon 18:00-09:00", "Mon 09:00-25:00"]
)
def test_bad_hours_say_what_is_expected(spec: str) -> None:
    with pytest.raises(HoursFormatError, match="SUPPORT_HOURS"):
        SupportHours.parse(spec)


@pytest.mark.parametrize(
    "text",
    ["оператор", "Позовите оператора!", "хочу поговорить с живым человеком", "human please",
     "I need an agent", "соедините с человеком", "talk to someone",
     # Explicit requests in sentences of any length.
     "My parcel came crushed, I want a human now!",
     "I have waited two weeks and the tracking says nothing, I would like to speak with a "
     "real person please",
     "I don't want to wait any longer, give me a human",
     "Can I talk to an operator about the refund for my order from last week?",
     "Посылка пришла мятая, коробка порвана, курьер нагрубил, позовите, пожалуйста, человека",
     "Я уже третий раз пишу про возврат денег за заказ, хочу поговорить с оператором"],
)
def test_requests_for_a_person(text: str) -> None:
    assert asks_for_person(text)


@pytest.mark.parametrize(
    "text",
    ["Сколько человек в команде?", "how do I reset my password", "",
     "The operator precedence in C++ is confusing me a lot and I do not understand the rules",
     # Negated, or a long message that only mentions a person.
     "I don't need a human", "мне не нужен оператор", "без оператора",
     "No need for a human, the bot is fine, just tell me when my order arrives",
     "Хочу узнать, сколько человек может работать в одном аккаунте нашей компании",
     "Does your app let my customers chat with an agent inside the widget on our site?",
     # Someone who is not a person to hand over to, and a possessive.
     "I need someone to sign for the parcel tomorrow, can you arrange that?",
     "I want the manager's email address so I can write a complaint letter",
     "we need staff accounts for the new office in Kazan please"],
)
def test_questions_are_not_requests(text: str) -> None:
    assert not asks_for_person(text)


def test_thanks() -> None:
    assert is_thanks("Спасибо, помогло!")
    assert is_thanks("thank you")
    assert not is_thanks("no thanks to you this did not work at all and I am still waiting")


@pytest.mark.parametrize(
    ("text", "question"),
    [("How do I return it", True), ("One more question", True), ("Where is my refund?", True),
     ("Как вернуть товар", True), ("Ещё вопрос", True), ("The courier was rude though", False),
     ("Курьер нагрубил", False), ("All good, thanks", False)],
)
def test_a_question_after_a_rating_is_told_from_a_comment(text: str, question: bool) -> None:
    assert is_question(text) is question
