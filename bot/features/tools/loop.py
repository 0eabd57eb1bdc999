"""The tool loop: model -> tool calls -> stored -> run -> results back to the model -> ...

One turn's rounds, as one stream of snapshots for the conversation core:

- A model that supports tools (`ToolLoopSettings.models`) is offered the tools the speaker may
  see. A round that ends in calls (status TOOL_CALLS) is stored before anything runs (one
  short unit of work), run with at most `parallel` calls at once, and the results are stored
  (another) and given back to the model as data from the tool, cut to `result_chars`.
- After `max_rounds` rounds the model is asked once more without tools and told to answer now
  (`toolChoice NONE` leaks pseudo-calls as text on the native API, as
  recorded in tests/foundation_models).
- A call whose definition says `confirm` is stored `pending_confirmation`: nothing of its
  round runs, the stream ends with a TOOL_CALLS snapshot, the loop's slot says what to ask
  (`ToolTurn.waiting`, turnpart.py) and the turn is `suspended` for `PRESS`: the core stores
  the answer `waiting`. The press (or the expiry) carries the turn on: the loop then starts from
  the stored calls.
- The stored calls are the turn's state: a turn resumed after a crash replays the rounds
  done, runs again what has no result (with the same idempotency key: a write whose outcome
  is unknown is repeated only with it) and goes on.
- Snapshots carry the text written in earlier rounds, so what the user saw stays; while calls
  run, a TOOL_CALLS snapshot names them (the front end shows a status).

The stored calls' life across units of work (supersede, retry, resume) is turns.py's
(`ToolLoop.turns`); what presses and the expiry sweep decide is decisions.py's
(`ToolLoop.decisions`).
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import logging
import time
from collections.abc import AsyncGenerator, Awaitable, Callable, Sequence
from contextlib import aclosing

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.features.tools import Toolbox, ToolOutcome, ToolRunResult, history
from bot.features.tools.decisions import Decisions
from bot.features.tools.limits import ToolLimits
from bot.features.tools.offering import for_members, offered_in
from bot.features.tools.storage.calls import NewToolCall, ToolCallRepository
from bot.features.tools.storage.models import ToolCall as StoredCall
from bot.features.tools.storage.models import ToolCallState
from bot.features.tools.text import (
    ANSWER_NOW,
    added_usage,
    fitted,
    joined,
    running_status,
    with_data_note,
    with_text,
)
from bot.features.tools.turnpart import PRESS, ToolTurn, WaitingCall
from bot.features.tools.turns import (
    TO_RUN,
    Round,
    ToolLoopSettings,
    ToolTurns,
    rounds_of,
)
from bot.plugin.asker import Asker
from bot.plugin.conversation import (
    ChatRef,
    Speaker,
    TurnState,
    relinquished,
)
from bot.plugin.helpers import wall_now
from bot.plugin.models import (
    ChatMessage,
    ChatModel,
    CompletionOptions,
    CompletionStatus,
    Role,
    Snapshot,
    Tool,
    ToolCall,
    Usage,
)
from bot.plugin.offers import EmployeeDirectory
from bot.plugin.prompting import model_base_name
from bot.plugin.storage import UsageRepository

logger = logging.getLogger(__name__)

UNCONFIRMED_TEXT = ("error: this action needs the user's confirmation and was not confirmed; "
                    "it was not run.")


def unknown_tool(name: str) -> str:
    return f"error: no tool named {name!r}"


class ToolLoop:
    def __init__(
        self,
        *,
        toolbox: Toolbox,
        settings: ToolLoopSettings,
        sessionmaker: async_sessionmaker[AsyncSession],
        model: ChatModel,
        desk_state: Callable[[int], Awaitable[str | None]] | None = None,
        on_superseded: Callable[[int, list[int]], None] | None = None,
        directory: EmployeeDirectory | None = None,
    ) -> None:
        self.toolbox = toolbox
        self.settings = settings
        # Who the employees are (the identity feature's offer; None: no sign-in): the tools'
        # groups and approvers are judged by it.
        self.directory = directory
        self._sessionmaker = sessionmaker
        self._model = model
        # Who asks, as the tools see it (the same as the App's context providers do).
        self.asker = Asker(desk_state)
        self.turns = ToolTurns(toolbox=toolbox, sessionmaker=sessionmaker,
                               on_superseded=on_superseded)
        self.decisions = Decisions(toolbox=toolbox, sessionmaker=sessionmaker,
                                   directory=directory)

    def offers(self, model: str) -> bool:
        """Whether a turn on `model` runs through the loop (tools exist and the model takes
        them)."""
        return bool(self.toolbox) and model_base_name(model) in self.settings.models

    def offered(self, turn: TurnState) -> tuple[str, ...]:
        """The names of the tools offered to `turn` (its trace)."""
        return tuple(tool.name for tool in self._tools(turn.speaker, turn.chat))

    def _tools(self, speaker: Speaker, chat: ChatRef) -> tuple[Tool, ...]:
        """The tools offered to a turn of `speaker` in `chat` (`offered_in`); admin-only ones
        when the update's decision, carried by the speaker, says they are an admin."""
        return tuple(
            Tool(d.name, d.description, dict(d.parameters))
            for d in self.toolbox.offered(is_admin=speaker.is_admin)
            if offered_in(chat, d) and for_members(d, chat, speaker.employee)
        )

    # -- the loop --------------------------------------------------------------------------

    async def stream(
        self,
        turn: TurnState,
        messages: list[ChatMessage],
        options: CompletionOptions,
        *,
        client: ChatModel | None = None,
    ) -> AsyncGenerator[Snapshot, None]:
        """The turn's rounds as one stream; the last snapshot is the answer (its usage the
        sum of every round's), or a TOOL_CALLS one when the turn waits for a press.
        ``client``: the model client of this turn when it is not the chat's (the vision
        model's, for a turn that shows images)."""
        model = client or self._model
        messages = with_data_note(messages)
        tools = self._tools(turn.speaker, turn.chat)
        stored: list[StoredCall] = []
        state = turn.part(ToolTurn)
        if state.resumed:  # a new answer has no stored calls: no read on the usual path
            async with self._sessionmaker() as session:
                stored = await ToolCallRepository(session).for_answer(turn.answer_id)
                await session.commit()
        exchange: list[ChatMessage] = []
        chars = self.settings.result_chars  # of each result the model is given
        shown, usage = "", Usage()
        rounds = rounds_of(stored)
        for round_ in rounds:
            if round_.waiting():
                state.waiting, turn.suspended = await self._waiting_of(turn, round_), PRESS
                yield Snapshot(joined(shown, round_.preface), CompletionStatus.TOOL_CALLS, usage)
                return
            if not round_.settled():
                yield running_status(joined(shown, round_.preface), usage, round_)
                await self._run_round(turn, round_)
            exchange.extend(history.exchange(round_, chars, with_preface=True))
            if not state.continued:
                shown = joined(shown, round_.preface)
        number = len(rounds)
        spent_before: int | None = None  # today's usage before this turn, read when needed
        while True:
            offer = bool(tools) and number < self.settings.max_rounds
            if offer and number and self._budgeted(turn):
                if spent_before is None:
                    spent_before = await self._spent_today(turn.speaker.user_id)
                if spent_before + usage.total_tokens >= self.settings.daily_tokens:
                    offer = False  # the budget is spent: answer now, no more tools
                    logger.info("user %s: daily tokens spent; no more tool rounds",
                                turn.speaker.user_id)
            prompt = messages + fitted(messages, exchange, turn.room)
            round_options = options
            if offer:
                round_options = dataclasses.replace(options, tools=tools)
            elif number:
                prompt.append(ChatMessage(Role.USER, ANSWER_NOW))
            last: Snapshot | None = None
            text = ""
            stream = model.stream(prompt, model=turn.model, options=round_options)
            async with aclosing(stream) as snapshots:
                async for snapshot in snapshots:
                    last = snapshot
                    text = snapshot.text or text  # a TOOL_CALLS frame has no text natively
                    if snapshot.status is not CompletionStatus.TOOL_CALLS:
                        total = added_usage(usage, snapshot.usage)
                        yield with_text(snapshot, joined(shown, snapshot.text), total)
            if last is None:
                return  # the core reports a stream that ended without a final status
            usage = added_usage(usage, last.usage)
            if not (offer and last.status is CompletionStatus.TOOL_CALLS and last.tool_calls):
                if last.status is CompletionStatus.TOOL_CALLS:
                    # Calls where none were offered: the text is the answer.
                    last = dataclasses.replace(last, status=CompletionStatus.FINAL)
                yield with_text(last, joined(shown, last.text or text), usage)
                return
            round_ = await self._store(turn, number, last.tool_calls, text)
            if round_.waiting():
                state.waiting, turn.suspended = await self._waiting_of(turn, round_), PRESS
                yield Snapshot(joined(shown, text), CompletionStatus.TOOL_CALLS, usage,
                               tool_calls=last.tool_calls)
                return
            yield running_status(joined(shown, text), usage, round_)
            await self._run_round(turn, round_)
            exchange.extend(history.exchange(round_, chars, with_preface=True))
            shown = joined(shown, text)
            number += 1

    async def _waiting_of(self, turn: TurnState, round_: Round) -> tuple[WaitingCall, ...]:
        return await self.decisions.waiting_of(round_, asker=turn.speaker.display_name,
                                               why=turn.question.text)

    def _budgeted(self, turn: TurnState) -> bool:
        return self.settings.daily_tokens > 0 and not turn.speaker.is_admin

    async def _spent_today(self, user_id: int) -> int:
        async with self._sessionmaker() as session:
            used = await UsageRepository(session).for_user(user_id, dt.datetime.now(dt.UTC).date())
            await session.commit()
        return used.tokens

    async def _store(
        self, turn: TurnState, number: int, calls: Sequence[ToolCall], preface: str
    ) -> Round:
        """Store a round's calls before any of them runs. Whether a call needs a press and
        counts as a write is what the deployment declared for its tool (fail closed): a call
        of a tool no source knows is stored refused, never as one that needs no press."""
        new = []
        unknown = set()
        for position, call in enumerate(calls):
            definition = self.toolbox.declared(call.name)
            if definition is None or not offered_in(turn.chat, definition) or not (
                    for_members(definition, turn.chat, turn.speaker.employee)):
                unknown.add(position)  # a tool not offered here is refused like an unknown
            new.append(NewToolCall(
                number, position, call.name, call.arguments, call.id,
                preface=preface or None if position == 0 else None,
                writes=definition.writes if definition else True,
                confirm=definition.confirm if position not in unknown and definition else False,
                approvers=definition.approvers if position not in unknown and definition
                else "",
            ))
        start = not any(call.confirm or call.approvers for call in new)
        settings = self.settings
        async with self._sessionmaker() as session:
            repo = ToolCallRepository(session)
            rows = await repo.add_round(
                question_id=turn.question_id, answer_id=turn.answer_id,
                chat_id=turn.chat.chat_id, user_id=turn.speaker.user_id, calls=new,
                confirm_ttl=dt.timedelta(seconds=settings.confirm_ttl), start=start,
                approval_ttl=dt.timedelta(seconds=settings.approval_expire),
                approval_remind=dt.timedelta(seconds=settings.approval_remind),
                now=wall_now(),
            )
            for row in rows:
                if row.position in unknown:
                    logger.info("tool %s is not known: the call is refused", row.name)
                    await repo.refuse(row.id, result=unknown_tool(row.name),
                                      detail="unknown tool")
                    await session.refresh(row)
            await session.commit()
        turn.part(ToolTurn).stored = True
        return Round(rows)

    async def _run_round(self, turn: TurnState, round_: Round) -> None:
        """Run the round's calls that have no result yet (at most `parallel` at once), store
        the results; a call cut short by /stop or shutdown is stored as cancelled."""
        due = [call for call in round_.calls if call.state in TO_RUN]
        if not due:
            return
        to_start = [c.id for c in due if c.state is not ToolCallState.RUNNING]
        if to_start:
            async with self._sessionmaker() as session:
                await ToolCallRepository(session).start(to_start)
                await session.commit()
        gate = asyncio.Semaphore(self.settings.parallel)

        async def one(call: StoredCall) -> tuple[ToolRunResult, int]:
            async with gate:
                return await self._call(turn, call)

        tasks = [asyncio.ensure_future(one(call)) for call in due]
        try:
            await asyncio.wait(tasks)
        except asyncio.CancelledError as exc:
            for task in tasks:
                task.cancel()
            if not relinquished(exc):  # a lost lease leaves them for the next owner
                await asyncio.shield(self._cancelled([c.id for c in due]))
            raise
        async with self._sessionmaker() as session:
            repo = ToolCallRepository(session)
            for call, task in zip(due, tasks, strict=True):
                result, latency = task.result()
                state = (
                    ToolCallState.DONE if result.outcome is ToolOutcome.OK
                    else ToolCallState.FAILED
                )
                await repo.finish(call.id, state=state, outcome=result.outcome.value,
                                  result=result.text, detail=result.detail, latency_ms=latency)
                call.state, call.result = state, result.text
            await session.commit()

    async def _cancelled(self, ids: list[int]) -> None:
        try:
            async with self._sessionmaker() as session:
                await ToolCallRepository(session).finish_unfinished(ids, detail="stopped")
                await session.commit()
        except Exception:
            logger.exception("could not store the stopped tool calls %s", ids)

    async def _call(self, turn: TurnState, call: StoredCall) -> tuple[ToolRunResult, int]:
        ctx = await self.asker.context(turn, call.idempotency_key)
        # Decided again from the declaration, never from the row alone: a tool unknown now is
        # refused, and one declared `confirm` runs only after a person's press.
        declared = self.toolbox.declared(call.name)
        employee = turn.speaker.employee
        if self.directory is not None and ((declared is not None and declared.groups)
                                           or employee is None):
            # Who the asker is now (a sign-out since counts), and for a turn carried on
            # without an update (a press, an approval), who they are at all.
            employee = await self.directory.employee(call.user_id)
            if employee is not None:
                ctx = dataclasses.replace(ctx, email=employee.email,
                                          groups=tuple(sorted(employee.groups)))
        if declared is None or not offered_in(turn.chat, declared) or not (
                for_members(declared, turn.chat, employee)):
            logger.info("tool %s is not known here: the call is refused", call.name)
            return ToolRunResult(ToolOutcome.ERROR, unknown_tool(call.name), "unknown tool"), 0
        if declared.confirm and call.decided_by is None:
            logger.warning("tool %s needs a press and has none: the call is refused", call.name)
            return ToolRunResult(ToolOutcome.ERROR, UNCONFIRMED_TEXT, "not confirmed"), 0
        if not ctx.is_admin:
            limits = ToolLimits(self.settings.calls_per_user_hour,
                                self.settings.writes_per_user_day)
            refused = await limits.refusal(self._sessionmaker, user_id=ctx.user_id,
                                           call_id=call.id,
                                           writes=call.writes or declared.writes)
            if refused is not None:
                kind, result = refused
                turn.part(ToolTurn).limit_reached = kind
                logger.info("tool %s for user %s not made: %s reached", call.name,
                            ctx.user_id, kind)
                return result, 0
        started = time.monotonic()
        try:
            result = await self.toolbox.call(call.name, dict(call.arguments), ctx)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # a source's bug: the model hears a short line, logs the rest
            logger.exception("tool %s failed", call.name)
            text = f"error: the tool failed ({type(exc).__name__})"
            result = ToolRunResult(ToolOutcome.ERROR, text)
        latency = int((time.monotonic() - started) * 1000)
        logger.info("tool %s: %s in %d ms", call.name, result.outcome.value, latency)
        return result, latency
