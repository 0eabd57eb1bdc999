"""Finishing a turn, the second unit of work: settle the answer's verdict with the features
(the turn's grounding read back first, its "not found" shown last: grounding.py); store the
answer with its status and usage, the question's count and each feature's rows; charge usage;
log one line; tell the features the answer is stored."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable

from bot.conversation.features import Verdict
from bot.conversation.parts import TurnParts
from bot.conversation.tokens import settle
from bot.conversation.turn import TurnState
from bot.conversation.types import TurnResult
from bot.foundation_models.types import Snapshot, Usage
from bot.metrics import registry as metrics
from bot.prompting import estimate_tokens
from bot.storage.models import MessageStatus
from bot.storage.outage import outage_of
from bot.storage.repositories import (
    MessageRepository,
    TraceRepository,
    UsageRepository,
    commit_with,
)

logger = logging.getLogger(__name__)

# How long a finished answer waits for the question's token count before storing without it.
COUNT_GRACE = 1.0


def drop(parts: TurnParts, turn: TurnState) -> None:
    """Forget a turn left unfinished on purpose (`RELINQUISHED`)."""
    if turn.count is not None:
        turn.count.cancel()
    if parts.streaming.get(turn.chat.chat_id) is turn:
        del parts.streaming[turn.chat.chat_id]


async def finish(
    parts: TurnParts,
    turn: TurnState,
    last: Snapshot | None,
    status: MessageStatus,
    error: Exception | None = None,
    text: str | None = None,
) -> TurnResult:
    """Store the answer with its status and usage, the question's count, charge usage."""
    text = text if text is not None else (last.text if last else "")
    usage = last.usage if last is not None and last.usage.total_tokens else None
    grace = 0.0 if status is MessageStatus.CANCELLED else COUNT_GRACE
    question_tokens = await settle(turn.count, grace)
    if parts.streaming.get(turn.chat.chat_id) is turn:
        del parts.streaming[turn.chat.chat_id]
    shown = turn.shown
    verdict = Verdict(text, status)
    # The features, the core's grounding steps first and last (grounding.py): the sources
    # the answer cites, and "not found" shown as such, stored as it is shown.
    for feature in parts.features:
        await feature.settle(turn, last, verdict)
    text = verdict.text
    turn.trace.add("model", _model_entry(parts, turn, status, usage, last is None))

    async def store() -> None:
        async with parts.sessionmaker() as session:
            messages = MessageRepository(session)
            stored = await messages.finish_answer(
                turn.answer_id,
                text=text,
                status=status,
                token_count=usage.completion_tokens if usage else estimate_tokens(text),
                input_tokens=usage.input_tokens if usage else None,
                output_tokens=usage.completion_tokens if usage else None,
                telegram_message_ids=shown,
                # A cancelled answer (/stop, shutdown, a lost lease) is not answered again.
                delivery_pending=parts.track_delivery and status is not MessageStatus.CANCELLED,
            )
            if not stored:
                # The rows were deleted meanwhile (/forget or retention): nothing to update.
                await session.rollback()
                logger.info("answer %s was deleted while it streamed; not stored",
                            turn.answer_id)
                return
            for feature in parts.features:
                await feature.record(session, turn, verdict)
            # After every feature's record: what they noted of the answer goes with it.
            # The rest runs back to back with the commit (batch.py).
            statements = [TraceRepository(session).save_statement(
                turn.answer_id, turn.trace.dumps(), turn.trace.tags)]
            if question_tokens is not None:
                statements.append(
                    messages.set_token_count_statement(turn.question_id, question_tokens))
            if usage is not None:
                statements.append(UsageRepository(session).add_statement(
                    turn.speaker.user_id,
                    parts.today(),
                    tokens=usage.total_tokens,
                    reasoning_tokens=usage.reasoning_tokens,
                ))
            await commit_with(session, statements)

    outage = outage_of(parts.sessionmaker)
    saving: asyncio.Task[None] | None = None
    try:
        await store()
        outage.succeeded()
    except Exception as exc:
        if not outage.failed(exc, f"storing answer {turn.answer_id}"):
            raise
        # The database went away while the answer streamed: the text is kept here and
        # stored once it is back; the answer is delivered meanwhile (TurnResult.saving).
        saving = asyncio.create_task(
            _store_later(parts, turn, store, lambda: _finished(parts, turn, result)),
            name=f"answer-{turn.answer_id}-saving",
        )
        parts.saving[turn.chat.chat_id] = saving
        saving.add_done_callback(
            lambda task: parts.saving.pop(turn.chat.chat_id, None)
            if parts.saving.get(turn.chat.chat_id) is task else None
        )
    metrics.turn_finished(status.value)
    _log_answer(turn, status, usage, last is None and status is MessageStatus.COMPLETE,
                verdict.notes)
    result = TurnResult(
        message_id=turn.answer_id,
        text=text,
        status=status,
        usage=usage,
        trimmed_history=turn.trimmed,
        error=error,
        user_message_id=turn.question_id,
        model=turn.model,
        telegram_message_ids=shown or (),
        parts=turn.parts,
        saving=saving,
        suspended=turn.suspended if status is MessageStatus.WAITING else None,
    )
    if saving is None:
        _finished(parts, turn, result)
    return result


def _finished(parts: TurnParts, turn: TurnState, result: TurnResult) -> None:
    for feature in parts.features:
        try:
            feature.finished(turn, result)
        except Exception:  # bookkeeping: the answer is stored and delivered all the same
            logger.exception("feature %s failed after answer %s", feature.name,
                             turn.answer_id)


async def _store_later(
    parts: TurnParts,
    turn: TurnState,
    store: Callable[[], Awaitable[None]],
    then: Callable[[], None],
) -> None:
    """Store an answer that ended while the database was away, once it is back."""
    await outage_of(parts.sessionmaker).ride(f"storing answer {turn.answer_id}", store)
    logger.info("answer %s in chat %s stored once the database was back",
                turn.answer_id, turn.chat.chat_id)
    then()


def _model_entry(
    parts: TurnParts, turn: TurnState, status: MessageStatus, usage: Usage | None,
    unasked: bool,
) -> dict[str, object]:
    """The core's entry of the trace: which model on which wire, the tokens, the time to the
    first words and to the end (milliseconds from the turn's opening), the answer's status."""
    now = time.monotonic()
    first = turn.first_words
    return {
        "model": turn.model,
        "wire": parts.wire,
        "status": status.value,
        "asked": not unasked,
        "input_tokens": usage.input_tokens if usage else None,
        "output_tokens": usage.completion_tokens if usage else None,
        "first_words_ms": round((first - turn.started) * 1000) if first is not None else None,
        "total_ms": round((now - turn.started) * 1000),
        "history_trimmed": turn.trimmed,
    }


def _log_answer(
    turn: TurnState, status: MessageStatus, usage: Usage | None, unasked: bool,
    notes: list[str],
) -> None:
    """One INFO line per answer: what an operator needs to follow load and cost (model,
    tokens, latency), never what the user or the model wrote. `unasked`: a contributor
    answered, not the model (strict mode's "not found"); `notes`: what the features note of
    the answer ("grounded: 3 sources")."""
    if usage is not None:
        tokens = f"{usage.input_tokens} in + {usage.completion_tokens} out tokens"
    else:
        tokens = "no model call" if unasked else "tokens unknown"
    logger.info(
        "answer %s in chat %s: %s, model %s, %s, %.2f s%s",
        turn.answer_id,
        turn.chat.chat_id,
        status.value,
        turn.model,
        tokens,
        time.monotonic() - turn.started,
        f" ({'; '.join(notes)})" if notes else "",
    )
