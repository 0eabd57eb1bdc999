"""Which Bot API failures stop a message, a stream, or are retried (real aiogram exceptions)."""

from __future__ import annotations

import pytest
from aiogram.exceptions import (
    RestartingTelegram,
    TelegramAPIError,
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramNetworkError,
    TelegramNotFound,
    TelegramServerError,
)
from aiogram.methods import SendMessage

from bot.telegram.outbox.errors import Failure, classify

METHOD = SendMessage(chat_id=1, text="x")


@pytest.mark.parametrize(
    ("exc", "failure"),
    [
        (
            TelegramBadRequest(
                METHOD,
                "Bad Request: message is not modified: specified new "
                "message content and reply markup are exactly the same",
            ),
            Failure.NOT_MODIFIED,
        ),
        (
            TelegramBadRequest(METHOD, "Bad Request: message to edit not found"),
            Failure.MESSAGE_GONE,
        ),
        (TelegramBadRequest(METHOD, "Bad Request: message can't be edited"), Failure.MESSAGE_GONE),
        (TelegramBadRequest(METHOD, "Bad Request: MESSAGE_ID_INVALID"), Failure.MESSAGE_GONE),
        (
            TelegramForbiddenError(METHOD, "Forbidden: bot was blocked by the user"),
            Failure.CHAT_GONE,
        ),
        (TelegramBadRequest(METHOD, "Bad Request: chat not found"), Failure.CHAT_GONE),
        (TelegramBadRequest(METHOD, "Bad Request: TOPIC_CLOSED"), Failure.CHAT_GONE),
        (TelegramBadRequest(METHOD, "Bad Request: message thread not found"), Failure.CHAT_GONE),
        (
            TelegramBadRequest(METHOD, "Bad Request: can't parse entities: Unsupported start tag"),
            Failure.BAD_ENTITIES,
        ),
        (
            TelegramBadRequest(
                METHOD,
                "Bad Request: entity beginning at UTF-16 offset 5 ends after the end of the text",
            ),
            Failure.BAD_ENTITIES,
        ),
        (TelegramNotFound(METHOD, "Not Found: method not found"), Failure.REFUSED),
        (TelegramServerError(METHOD, "Internal Server Error"), Failure.TRANSIENT),
        (RestartingTelegram(METHOD, "Service Unavailable: restart"), Failure.TRANSIENT),
        (
            TelegramNetworkError(METHOD, "HTTP Client says - ClientConnectorError"),
            Failure.TRANSIENT,
        ),
        (TelegramAPIError(METHOD, "Unexpected"), Failure.TRANSIENT),
        (TelegramBadRequest(METHOD, "Bad Request: message is too long"), Failure.OTHER),
    ],
)
def test_classify(exc: TelegramAPIError, failure: Failure) -> None:
    assert classify(exc) is failure
