"""The topic's first message: who the user is, why they were handed over, what happened."""

from __future__ import annotations

from collections.abc import Sequence

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup

from bot.features.desk.domain import CaseView
from bot.features.desk.storage.models import DeskStatus, HandoffReason

REASONS = {
    HandoffReason.USER_REQUEST: "the user asked for a person",
    HandoffReason.KB_MISS: "two answers in a row not found in the knowledge base",
    HandoffReason.CLASSIFIER: "the classifier read a request for a person",
    HandoffReason.COMPLAINT: "the classifier read a complaint",
}
# Shown once the conversation left the person's hands (the card says so at once on /close).
STATUS = {
    DeskStatus.RESOLVED: "✅ closed",
    DeskStatus.BOT: "🤖 back with the bot",
}
CARD_LIMIT = 4000  # under Telegram's 4096, counted generously (UTF-16)


def topic_name(case: CaseView) -> str:
    """Forum topic names are 1-128 characters."""
    name = " ".join(case.user_name.split()) or f"user {case.user_id}"
    return f"{name} · {case.user_id}"[:128]


def card_text(
    case: CaseView,
    *,
    summary: str,
    dialogue: Sequence[tuple[str, str]],
    sources: Sequence[str],
    opens: str | None,
    username: str | None = None,
    tool_calls: Sequence[str] = (),
    employee: str = "",
) -> str:
    handle = f" @{username}" if username else ""
    lines = [
        f"🆘 {case.user_name or 'User'}{handle} (id {case.user_id})",
        *([f"Employee: {employee}"] if employee else []),
        f"Language: {case.language or 'unknown'}",
        f"Reason: {REASONS.get(case.reason, str(case.reason)) if case.reason else 'unknown'}",
    ]
    status = STATUS.get(case.status)
    if status:
        lines.append(f"Status: {status}")
    if opens:
        lines.append(f"Outside SUPPORT_HOURS: the user was told the desk opens {opens}")
    lines.append("")
    lines.append("Summary: " + (summary or "(no summary: the model was not available)"))
    if dialogue:
        lines.append("")
        lines.append("Last messages:")
        for role, text in dialogue:
            who = {"user": "👤", "operator": "🧑‍💼"}.get(role, "🤖")
            short = " ".join(text.split())
            lines.append(f"{who} {short[:300] + '…' if len(short) > 300 else short}")
    lines.append("")
    lines.append(
        "Knowledge-base sources tried: " + (", ".join(sources[:10]) if sources else "none")
    )
    if tool_calls:
        lines.append("")
        lines.append("Tool calls in this chat:")
        lines.extend(f"🔧 {line}" for line in tool_calls)
    lines.append("")
    lines.append(
        "Reply in this topic to answer the user. // starts an internal note (not sent). "
        "/close resolves, /bot hands back to the bot, /block and /unblock."
    )
    text = "\n".join(lines)
    return text if len(text) <= CARD_LIMIT else text[: CARD_LIMIT - 1] + "…"


def card_keyboard(
    case: CaseView, *, blocked: bool, open_case: bool = True
) -> InlineKeyboardMarkup:
    """Close and Back to bot while a person owns the conversation; Block or Unblock, whichever
    applies now (the card is edited when either changes)."""
    rows: list[list[InlineKeyboardButton]] = []
    if open_case:
        rows.append([
            InlineKeyboardButton(text="✅ Close", callback_data=f"desk:close:{case.id}"),
            InlineKeyboardButton(text="🤖 Back to bot", callback_data=f"desk:bot:{case.id}"),
        ])
    if blocked:
        block = InlineKeyboardButton(
            text="♻️ Unblock", callback_data=f"desk:unblock:{case.user_id}"
        )
    else:
        block = InlineKeyboardButton(text="⛔ Block", callback_data=f"desk:block:{case.user_id}")
    rows.append([block])
    return InlineKeyboardMarkup(inline_keyboard=rows)
