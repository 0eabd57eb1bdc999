"""What the tool-call repository takes and gives: a new call, a decline, per-tool figures, and
the digests and idempotency keys calls are stored with."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


def digest(text: str) -> str:
    """The audit's digest of a result: sha256 hex of its UTF-8 text."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass(frozen=True, slots=True)
class NewToolCall:
    """One call as the model asked for it, about to be stored."""

    round: int
    position: int
    name: str
    arguments: Mapping[str, Any]
    call_id: str | None = None
    preface: str | None = None
    writes: bool = False
    confirm: bool = False
    # Who decides it instead of the asker ("group:NAME", "chat:ID"; "" for the asker).
    approvers: str = ""


@dataclass(frozen=True, slots=True)
class Declined:
    """Calls a new message declined: the answers that waited for them, and their cards."""

    answers: list[int]
    cards: list[int]
    # The approvers' cards of the declined requests, (chat, message) each.
    approval_cards: list[tuple[int, int]] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class ToolStats:
    """`bot report`: per tool, how many calls, how many failed, how many were declined."""

    name: str
    calls: int
    failures: int
    declines: int
    expired: int


def new_idempotency_key() -> str:
    """`fmbot-<32 hex digits>` (a V4 UUID, as Stripe suggests; at most 255 characters)."""
    return f"fmbot-{uuid.uuid4().hex}"
