"""The tool exchanges a prompt carries: a round's calls and their results as the model is
given them (each result cleaned, cut to size and marked as the tool's data), and the settled
rounds of earlier answers for the prompt of a new turn."""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy.ext.asyncio import AsyncSession

from bot.features.tools.storage.calls import ToolCallRepository
from bot.features.tools.text import as_data, result_text
from bot.features.tools.turns import Round, rounds_of
from bot.plugin.models import ChatMessage, Role, ToolCall, ToolResult


def exchange(round_: Round, result_chars: int, *, with_preface: bool) -> list[ChatMessage]:
    """A round as the model is given it: its calls, then their results (at most
    `result_chars` each)."""
    calls = tuple(ToolCall(c.name, dict(c.arguments), c.call_id) for c in round_.calls)
    results = tuple(
        ToolResult(c.name, as_data(c.name, result_text(c), result_chars), c.call_id)
        for c in round_.calls
    )
    preface = round_.preface if with_preface else ""
    return [
        ChatMessage(Role.ASSISTANT, preface, tool_calls=calls),
        # Natively results go back in a user message (as the SDK sends them).
        ChatMessage(Role.USER, "", tool_results=results),
    ]


async def earlier_exchanges(
    session: AsyncSession, answer_ids: Collection[int], *, user_id: int, result_chars: int
) -> dict[int, tuple[ChatMessage, ...]]:
    """The tool exchanges of earlier answers (settled rounds only), for the prompt of a
    turn of `user_id`: only the calls that user asked for. In a group, another member's
    calls ran with that member's identity and their results may hold what the answer
    never showed: this turn sees only the answers the chat was shown."""
    found = await ToolCallRepository(session).for_answers(answer_ids)
    out: dict[int, tuple[ChatMessage, ...]] = {}
    for answer_id, calls in found.items():
        messages: list[ChatMessage] = []
        own = [call for call in calls if call.user_id == user_id]
        for round_ in rounds_of(own):
            if round_.settled():
                messages.extend(exchange(round_, result_chars, with_preface=False))
        if messages:
            out[answer_id] = tuple(messages)
    return out
