"""Running an opened turn: ask the prompt contributors, build the prompt, stream the answer
from the right model, then hand it to finishing (the second unit of work)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from contextlib import aclosing

from bot.conversation.builtin_contributors import hiding_citations
from bot.conversation.contributors import PromptDraft, contribute_all
from bot.conversation.finishing import drop, finish
from bot.conversation.hosted import FILE_SEARCH_STRICT
from bot.conversation.parts import TurnParts
from bot.conversation.turn import STATUS_FOR, TurnState, history_before
from bot.conversation.types import ContentFilteredError, TurnResult, relinquished
from bot.conversation.vision import with_images
from bot.foundation_models.errors import FoundationModelsError, StreamError
from bot.foundation_models.types import ChatMessage, CompletionStatus, Role, Snapshot
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
        draft = await contribute_all(parts.prompt_contributors(), turn)
        if draft.answer is not None:
            answered = finish(parts, turn, None, MessageStatus.COMPLETE, None, draft.answer)
            return await asyncio.shield(answered)
        if on_snapshot is not None and draft.frame_filters:
            on_snapshot = _filtered(on_snapshot, draft)
        options = parts.options
        if parts.hosted is not None:  # the Responses API's web and file search (hosted.py)
            grounded = turn.knowledge.grounding
            options = await parts.hosted.prepare(turn, options)
            if turn.knowledge.grounding is not grounded:  # strict file search: its instruction
                draft.add("hosted", FILE_SEARCH_STRICT)
            if on_snapshot is not None:
                if turn.knowledge.grounding is not None and not draft.frame_filters:
                    hiding = PromptDraft(frame_filters=[hiding_citations])
                    on_snapshot = _filtered(on_snapshot, hiding)
                on_snapshot = parts.hosted.showing_activity(on_snapshot, turn.speaker.language)
        messages = await prompt_messages(parts, turn, draft)
        # A turn that shows images goes to the vision model, with the chat's tools when
        # it calls functions (Gemma 3 does on the OpenAI-compatible API: TOOLS_MODELS),
        # so "what is the status of the order in this screenshot?" can look it up.
        seeing = parts.vision if turn.images is not None and turn.images.uses_vision else None
        if parts.tools is not None and parts.tools.offers(turn.model):
            client = seeing.model if seeing is not None else None
            stream = parts.tools.stream(turn, messages, options, client=client)
        elif seeing is not None:
            stream = seeing.model.stream(messages, model=turn.model, options=options)
        else:
            stream = parts.model.stream(messages, model=turn.model, options=options)
        async with aclosing(stream) as snapshots:
            async for snapshot in snapshots:
                last = snapshot
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
    if status is MessageStatus.WAITING and not turn.tools.waiting:
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
    history, dropped = history_before(turn.window, question.id, turn.tools.exchanges)
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


def _filtered(
    on_snapshot: Callable[[Snapshot], None], draft: PromptDraft
) -> Callable[[Snapshot], None]:
    filters = tuple(draft.frame_filters)

    def wrapped(snapshot: Snapshot) -> None:
        for apply in filters:
            snapshot = apply(snapshot)
        on_snapshot(snapshot)

    return wrapped
