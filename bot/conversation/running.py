"""Running an opened turn: ask the prompt contributors, let the features prepare the model's
options, build the prompt, stream the answer from the client the features choose, then hand
it to finishing (the second unit of work)."""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import AsyncGenerator, Callable, Sequence
from contextlib import aclosing

from bot.conversation.contributors import PromptDraft, contribute_all
from bot.conversation.finishing import drop, finish
from bot.conversation.parts import TurnParts
from bot.conversation.turn import STATUS_FOR, TurnState, history_before
from bot.conversation.types import ContentFilteredError, TurnResult, relinquished
from bot.foundation_models.errors import FoundationModelsError, StreamError
from bot.foundation_models.types import (
    ChatMessage,
    ChatModel,
    CompletionOptions,
    CompletionStatus,
    Role,
    Snapshot,
)
from bot.grounding.turn import Grounded
from bot.prompting import HistoryItem, build_prompt, context_size_for
from bot.storage.models import MessageStatus

# A new message whose estimate exceeds this share of the prompt room waits for the tokenizer,
# so that a long text the model could take whole is not cut on a pessimistic guess.
COUNT_FIRST_SHARE = 0.25


async def run(
    parts: TurnParts, turn: TurnState, on_snapshot: Callable[[Snapshot], None] | None
) -> TurnResult:
    """Stream the answer and store it (second unit of work)."""
    last: Snapshot | None = None
    error: Exception | None = None
    try:
        draft = await contribute_all(parts.contributors, turn)
        if draft.answer is not None:
            answered = finish(parts, turn, None, MessageStatus.COMPLETE, None, draft.answer)
            return await asyncio.shield(answered)
        options = parts.options
        for feature in parts.features:
            options = await feature.prepare(turn, options, draft)
        if on_snapshot is not None and draft.frame_filters:
            on_snapshot = _filtered(on_snapshot, draft)
        messages = await prompt_messages(parts, turn, draft)
        stream, own = _stream(parts, turn, messages, options)
        grounded = turn.part(Grounded)
        if draft.abstain is not None and not own:
            # No feature runs the stream (no tools for this turn): nothing else could ground
            # the answer, so it is given without a model call.
            await stream.aclose()
            grounded.abstain()
            answered = finish(parts, turn, None, MessageStatus.COMPLETE, None, draft.abstain)
            return await asyncio.shield(answered)
        async with aclosing(stream) as snapshots:
            async for snapshot in snapshots:
                last = snapshot
                if turn.first_words is None and snapshot.text:
                    turn.first_words = time.monotonic()
                if snapshot.status is CompletionStatus.TOOL_CALLS and snapshot.tool_calls:
                    grounded.tool_called = True  # a tool's result may ground the answer
                if on_snapshot is not None:
                    on_snapshot(snapshot)
    except asyncio.CancelledError as exc:
        if relinquished(exc):  # left `streaming` for the replica taking the chat over
            drop(parts, turn)
            raise
        await asyncio.shield(finish(parts, turn, last, MessageStatus.CANCELLED))
        raise
    except FoundationModelsError as exc:
        error = exc
    except BaseException:
        await asyncio.shield(finish(parts, turn, last, MessageStatus.FAILED))
        raise
    if error is None and (last is None or not last.is_final):
        error = StreamError("the answer ended without a final status")
    if error is not None:
        partial = last.text if last else getattr(error, "partial_text", "")
        failed = finish(parts, turn, last, MessageStatus.FAILED, error, partial)
        return await asyncio.shield(failed)
    assert last is not None
    if last.status is CompletionStatus.CONTENT_FILTER:
        error = ContentFilteredError(last.text)
    status = STATUS_FOR.get(last.status, MessageStatus.COMPLETE)
    if status is MessageStatus.WAITING and turn.suspended is None:
        status = MessageStatus.COMPLETE  # calls nobody offered: the text is the answer
    # Shielded: a cancel arriving while the answer is stored must not leave it `streaming`.
    return await asyncio.shield(finish(parts, turn, last, status, error))


async def prompt_messages(
    parts: TurnParts, turn: TurnState, draft: PromptDraft
) -> list[ChatMessage]:
    """Build the prompt (pure) from the window and the draft; starts the question's count."""
    context = context_size_for(turn.model, parts.overrides)
    question = turn.question
    tokens = question.token_count
    if tokens is None:
        estimate, turn.count = parts.tokens.question(question.text, turn.model)
        if turn.count.done():
            tokens = turn.count.result()
        elif estimate > COUNT_FIRST_SHARE * turn.room:
            tokens = await turn.count
    base = turn.system_prompt
    system_tokens: int | None = None
    added = draft.section_tokens()
    # The chat's prompt is counted once, in the background; the estimate stands in till then.
    counted = parts.tokens.system(turn.model, base) if base else None
    if not draft.sections:
        system_tokens = counted
    elif added is not None:
        # The chat's prompt as counted, the contributors' parts as they counted them.
        system_tokens = (parts.tokens.known_system(turn.model, base) if base else 0) + added
    history, dropped = history_before(turn.window, question.id, turn.exchanges)
    new = HistoryItem(Role.USER, question.text, tokens, question.author_name)
    result = build_prompt(
        draft.system_prompt(base),
        history,
        new,
        context,
        context - turn.room,
        turn.chat.is_group,
        system_tokens=system_tokens,
    )
    turn.trimmed = result.trimmed or dropped
    if draft.attach_images:
        return with_images(result.messages, draft.images_again, draft.images_new)
    return result.messages


def _stream(
    parts: TurnParts, turn: TurnState, messages: list[ChatMessage], options: CompletionOptions
) -> tuple[AsyncGenerator[Snapshot, None], bool]:
    """The turn's stream: from the client a feature chose (the vision model for a turn with
    images), else the chat's; run by the first feature that runs it (the tool loop). And
    whether a feature runs it."""
    client: ChatModel | None = None
    for feature in parts.features:
        client = feature.client(turn) or client
    for feature in parts.features:
        stream = feature.stream(turn, messages, options, client)
        if stream is not None:
            return stream, True
    return (client or parts.model).stream(messages, model=turn.model, options=options), False


def with_images(
    messages: list[ChatMessage], earlier: Sequence[bytes], new: Sequence[bytes]
) -> list[ChatMessage]:
    """The prompt with the images on its last (the new) message: earlier ones first."""
    last = messages[-1]
    text = last.text
    if earlier:
        what = "the photo" if len(earlier) == 1 else f"the {len(earlier)} photos"
        note = f"[{what} from earlier in this conversation attached again"
        note += ", then this message's]" if new else "]"
        text = f"{note}\n{text}"
    return [*messages[:-1], dataclasses.replace(last, text=text, images=(*earlier, *new))]


def _filtered(
    on_snapshot: Callable[[Snapshot], None], draft: PromptDraft
) -> Callable[[Snapshot], None]:
    filters = tuple(draft.frame_filters)

    def wrapped(snapshot: Snapshot) -> None:
        for apply in filters:
            snapshot = apply(snapshot)
        on_snapshot(snapshot)

    return wrapped
