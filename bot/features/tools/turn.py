"""The tool loop in a turn: opening carries on the calls a press released and reads the
window's tool exchanges; a turn whose model takes tools is streamed through the loop. Its
answers may be suspended until the user's press (`suspends`, for the reason `PRESS`): a new
question declines what waits, /retry and a resume release the stored calls, and a press
resumes the answer."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from bot.features.tools.history import earlier_exchanges
from bot.features.tools.loop import ToolLoop
from bot.features.tools.storage.calls import ToolCallRepository
from bot.features.tools.storage.models import ToolCall
from bot.features.tools.turnpart import ToolTurn
from bot.plugin.conversation import Opening, Question, TurnFeature, TurnState, Verdict
from bot.plugin.models import ChatMessage, ChatModel, CompletionOptions, Snapshot
from bot.plugin.storage import MessageRole


class ToolsFeature(TurnFeature):
    name = "tools"
    suspends = True

    def __init__(self, loop: ToolLoop) -> None:
        self.loop = loop

    async def opening(self, opening: Opening) -> None:
        state = opening.part(ToolTurn)
        # Reopened after a press, or carrying on a turn a crash cut short: what the answer
        # stored before is read first; after a press, its text so far is on screen already.
        state.resumed = bool(opening.carried) or opening.reopened
        state.continued = opening.reopened

    async def opened(self, opening: Opening) -> None:
        loop = self.loop
        if opening.carried:
            await loop.turns.attach(opening.session, opening.carried, opening.answer_id)
        if loop.offers(opening.model):
            answers = [e.id for e in opening.window if e.role is MessageRole.ASSISTANT]
            opening.exchanges = await earlier_exchanges(
                opening.session, answers, user_id=opening.speaker.user_id,
                result_chars=loop.settings.result_chars)

    def stream(
        self,
        turn: TurnState,
        messages: list[ChatMessage],
        options: CompletionOptions,
        client: ChatModel | None,
    ) -> AsyncGenerator[Snapshot, None] | None:
        if not self.loop.offers(turn.model):
            return None
        return self.loop.stream(turn, messages, options, client=client)

    async def record(self, session: AsyncSession, turn: TurnState, verdict: Verdict) -> None:
        if not self.loop.offers(turn.model):
            return  # no call is made or carried on by a model not offered tools
        offered = self.loop.offered(turn)
        calls: Sequence[ToolCall] = []
        if turn.part(ToolTurn).has_calls:  # most answers make none: no read for them
            calls = await ToolCallRepository(session).for_answer(turn.answer_id)
        if not offered and not calls:
            return
        turn.trace.tag(*(f"tool:{call.name}" for call in calls))
        limit = turn.part(ToolTurn).limit_reached
        turn.trace.add("tools", {
            "offered": list(offered),
            "calls": [call_entry(call) for call in calls],
            "rules": [f"tool limit reached: {limit}"] if limit else [],
        })

    async def reset(self, session: AsyncSession, chat_id: int) -> None:
        await self.loop.turns.supersede(session, chat_id, None)  # nothing left to press

    async def decline(self, session: AsyncSession, chat_id: int, user_id: int) -> None:
        await self.loop.turns.supersede(session, chat_id, user_id)

    async def release(self, session: AsyncSession, answer_id: int, resume: bool) -> Sequence[int]:
        return await self.loop.turns.release(session, answer_id, resume)

    async def resume(self, session: AsyncSession, answer_id: int) -> Question | None:
        reopened = await self.loop.turns.reopen(session, answer_id)
        if reopened is None:
            return None
        return await self.loop.turns.question(session, reopened)


#: How much of a tool's result the trace keeps (the model was given up to TOOLS_RESULT_CHARS).
RESULT_EXCERPT = 2000


def call_entry(call: ToolCall) -> dict[str, object]:
    """A call as the answer's trace keeps it: the model's arguments (untrusted data), what
    became of it, its result, and who pressed for it when it needed a press."""
    return {
        "round": call.round,
        "name": call.name,
        "arguments": call.arguments,
        "state": call.state.value,
        "outcome": call.outcome,
        "detail": call.detail,
        "result": (call.result or "")[:RESULT_EXCERPT],
        "latency_ms": call.latency_ms,
        "writes": call.writes,
        "pressed_by": call.decided_by,
    }
