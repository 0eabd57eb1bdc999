"""Bot API 10.3's fields on an older Bot API server.

`can_stop` and `keep_on_stop` on drafts (sendMessageDraft, sendRichMessageDraft) and
`ephemeral_message_parameters` on messages exist from Bot API 10.3 on
(https://core.telegram.org/bots/api-changelog). A
self-hosted server (`TELEGRAM_API_URL`) of an older version ignores them or refuses the call
with a 400 that names the field. Refused, the call is sent again once without them and the
server's refusal is remembered for the process (logged once, at WARNING): every later call
leaves them out, instead of paying a refused call each time.

- drafts: the runner (runner.py) sends the draft again without `can_stop`/`keep_on_stop`; the
  user loses the stop button, `/stop` still works;
- `ephemeral_message_parameters`: a notice meant for one member is not posted to the whole
  group without it; notices.py sends it the way it does where a chat refuses ephemeral
  messages (a reply, or the press's own alert).
"""

from __future__ import annotations

import logging
from typing import Any

from aiogram.exceptions import TelegramBadRequest
from aiogram.methods import TelegramMethod

from bot.telegram.outbox.botapi import ApiCall

log = logging.getLogger(__name__)

STOP_FIELDS = ("can_stop", "keep_on_stop")  # a pair: keep_on_stop means nothing alone
EPHEMERAL_FIELD = "ephemeral_message_parameters"
NEWER_FIELDS = (*STOP_FIELDS, EPHEMERAL_FIELD)


def named_fields(exc: BaseException) -> set[str]:
    """The 10.3 fields a 400 names as what it refused (directly, or behind the outbox's own
    error); empty for any other error."""
    error = exc if isinstance(exc, TelegramBadRequest) else exc.__cause__
    if not isinstance(error, TelegramBadRequest):
        return set()
    text = error.message.lower()
    named = {field for field in NEWER_FIELDS if field in text}
    return {*STOP_FIELDS} | named if named & {*STOP_FIELDS} else named


class OlderServer:
    """What this bot's Bot API server refused of Bot API 10.3, for the life of the process."""

    def __init__(self) -> None:
        self.refused: set[str] = set()

    def refuses(self, field: str) -> bool:
        return field in self.refused

    def learn(self, exc: BaseException) -> set[str]:
        """Remember the fields `exc` names as refused; those newly learnt (logged once)."""
        new = named_fields(exc) - self.refused
        if new:
            self.refused |= new
            log.warning(
                "the Bot API server refused %s (Bot API 10.3; an older TELEGRAM_API_URL?): "
                "left out of every call from now on (%s)", ", ".join(sorted(new)), exc)
        return new

    def without(self, method: Any) -> Any:
        """The call (an outbox `ApiCall` or an aiogram method) without the drafts' stop
        fields this server refused; the call itself when it holds none."""
        fields = [f for f in STOP_FIELDS if f in self.refused]
        if not fields:
            return method
        if isinstance(method, ApiCall):
            if not any(f in method.params for f in fields):
                return method
            params = {k: v for k, v in method.params.items() if k not in fields}
            return ApiCall(method.name, params)
        if isinstance(method, TelegramMethod) and any(
            getattr(method, f, None) is not None for f in fields
        ):
            return method.model_copy(update=dict.fromkeys(fields))
        return method
