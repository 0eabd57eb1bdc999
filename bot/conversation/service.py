"""ConversationService: one turn in two short units of work (see the package docstring)."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import logging
import time
from collections.abc import Callable, Sequence
from contextlib import aclosing
from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.conversation.context import FINAL_FOR_HOOKS, add_context, answer_event, with_context
from bot.conversation.documents import ChatDocuments
from bot.conversation.locks import ChatLocks
from bot.conversation.tokens import TokenCounter, settle
from bot.conversation.turn import (
    STATUS_FOR,
    WITH_FAILED,
    Question,
    TurnState,
    history_before,
    previous_questions,
)
from bot.conversation.types import (
    ChatRef,
    ContentFilteredError,
    Speaker,
    TurnResult,
    relinquished,
)
from bot.conversation.vision import (
    ImageInput,
    TurnImages,
    Vision,
    fetch_all,
    name_images,
    pick_resend,
    with_images,
)
from bot.foundation_models.errors import FoundationModelsError, InvalidRequestError, StreamError
from bot.foundation_models.types import (
    ChatMessage,
    ChatModel,
    CompletionOptions,
    CompletionStatus,
    Role,
    Snapshot,
    Usage,
)
from bot.knowledge.grounding import (
    for_stream,
    grounded_prompt,
    is_not_found,
    mark_cited,
    not_found_text,
)
from bot.metrics import registry as metrics
from bot.prompting import (
    MIN_AVAILABLE,
    HistoryItem,
    build_prompt,
    context_size_for,
    estimate_tokens,
)
from bot.storage.models import MessageRole, MessageStatus, ToolCall, utc_today
from bot.storage.repositories import (
    PROMPT_STATUSES,
    ChatRepository,
    ConversationRepository,
    HistoryEntry,
    KnowledgeRepository,
    MediaUsageRepository,
    MessageImageRepository,
    MessageRepository,
    ToolCallRepository,
    UpdateReceipt,
    UsageRepository,
    mark_settled,
    record_context,
    settle_in,
)

if TYPE_CHECKING:
    from bot.conversation.hosted import HostedSearch
    from bot.conversation.tools_loop import ToolLoop
    from bot.extensions import ExtensionRunner
    from bot.knowledge.base import KnowledgeBase

logger = logging.getLogger(__name__)
# A new message whose estimate exceeds this share of the prompt room waits for the tokenizer,
# so that a long text the model could take whole is not cut on a pessimistic guess.
COUNT_FIRST_SHARE = 0.25
# How long a finished answer waits for the question's token count before storing without it.
COUNT_GRACE = 1.0
# Of the prompt room, the share the knowledge base's sources may take (history gets the rest).
SOURCES_SHARE = 0.5
# Photos: how long a conversation seen without images skips the image query.
IMAGELESS_TTL = 60.0
# Of the prompt room, the share passages of documents sent in chat may take.
DOCUMENTS_SHARE = 0.4


class ConversationService:
    def __init__(
        self,
        *,
        sessionmaker: async_sessionmaker[AsyncSession],
        model: ChatModel,
        default_model: str,
        default_system_prompt: str,
        reply_reserve: int,
        max_reply_tokens: int,
        temperature: float,
        context_overrides: dict[str, int] | None = None,
        include_failed_in_prompt: bool = False,
        count_timeout: float = 5.0,
        count_threshold: int = 64,
        today: Callable[[], dt.date] = utc_today,
        knowledge: KnowledgeBase | None = None,
        tools: ToolLoop | None = None,
        not_found_next_step: str = "",
        vision: Vision | None = None,
        extras: ExtensionRunner | None = None,
        documents: ChatDocuments | None = None,
        track_delivery: bool = False,
        hosted: HostedSearch | None = None,
    ) -> None:
        if context_size_for(default_model, context_overrides) - reply_reserve < MIN_AVAILABLE:
            raise ValueError(
                f"reply reserve {reply_reserve} leaves no room for a prompt in {default_model}"
            )
        self._sessionmaker = sessionmaker
        self._model = model
        self._default_model = default_model
        self._default_system_prompt = default_system_prompt
        self._reply_reserve = reply_reserve
        self._options = CompletionOptions(temperature=temperature, max_tokens=max_reply_tokens)
        self._overrides = dict(context_overrides or {})
        self._statuses = WITH_FAILED if include_failed_in_prompt else PROMPT_STATUSES
        self._tokens = TokenCounter(model, timeout=count_timeout, threshold=count_threshold)
        self._today = today
        self._locks = ChatLocks()
        # The turn streaming in each chat (turns of a chat run one at a time).
        self._streaming: dict[int, TurnState] = {}
        # Several replicas: answers are stored `delivery_pending` until the front end says
        # they were delivered (`mark_delivered`), so a replica dying in between is noticed.
        self.track_delivery = track_delivery
        self.knowledge = knowledge
        # Tools: the loop for models that take tools (bot/conversation/tools_loop.py).
        self.tools = tools
        # Shown (and stored) below a "not found" answer: KB_NOT_FOUND_CONTACT without a desk.
        self.not_found_next_step = not_found_next_step
        self.vision = vision  # photos: None = images are not taken
        # Conversations whose window held no image, until when: their text turns skip the
        # image query. A short time, as another replica may store images in one meanwhile.
        self._imageless: dict[int, float] = {}
        # Documents sent in chat: None = not taken.
        self.documents = documents
        # The App's context providers and on_answer hooks (bot/extensions/).
        self.extras = extras
        # Web and file search on the Responses API: None = not offered.
        self.hosted = hosted

    def is_busy(self, chat_id: int) -> bool:
        """True while a turn (or retry) of this chat runs or waits for its turn."""
        return self._locks.busy(chat_id)

    async def run_turn(
        self,
        chat: ChatRef,
        speaker: Speaker,
        text: str,
        *,
        on_snapshot: Callable[[Snapshot], None] | None = None,
        telegram_message_id: int | None = None,
        receipts: Sequence[UpdateReceipt] = (),
        images: Sequence[ImageInput] = (),
    ) -> TurnResult:
        """Answer `text`. Turns of one chat run one at a time, in call order.

        `receipts`: the queued updates that carried the question; they leave the durable
        queue in the transaction that stores it. `images` (with `vision` set) are stored with
        the question by file id and shown to the vision model. Raises InvalidRequestError for
        a blank text without images (nothing is stored)."""
        if not text.strip() and not images:
            raise InvalidRequestError("the message is empty")
        if images and self.vision is None:
            raise InvalidRequestError("images are not taken (no vision model)")
        async with self._locks.hold(chat.chat_id):
            async with self._sessionmaker() as session:
                model, system_prompt, conversation_id = await self._chat_settings(session, chat)
                if self.tools is not None:  # a confirmation waiting in the chat is declined
                    await self.tools.supersede(session, chat.chat_id, speaker.user_id)
                # A short question's count is its estimate (see tokens.py): stored with it, so
                # the answer's unit of work has nothing left to update on the question.
                tokens = self._tokens.short_count(text)
                if images:
                    assert self.vision is not None
                    # Counted now: the vision model has no tokenizer of its own here.
                    tokens = (tokens or estimate_tokens(text)) + sum(
                        self.vision.image_tokens for _ in images
                    )
                question_id = await MessageRepository(session).insert(
                    conversation_id,
                    MessageRole.USER,
                    text,
                    author_user_id=speaker.user_id,
                    author_name=speaker.display_name,
                    token_count=tokens,
                    telegram_message_ids=[telegram_message_id] if telegram_message_id else (),
                )
                if images:
                    assert self.vision is not None
                    await MessageImageRepository(session).add(
                        question_id, self.vision.stored(images)
                    )
                    await MediaUsageRepository(session).add(
                        speaker.user_id, self._today(), photos=len(images)
                    )
                question = Question(
                    question_id, conversation_id, text, tokens, speaker.display_name
                )
                turn = await self._open(
                    session, chat, speaker, model, system_prompt, question, receipts,
                    new_images=tuple(image.jpeg for image in images),
                )  # fmt: skip
            return await self._run(turn, on_snapshot)

    async def retry_last(
        self,
        chat: ChatRef,
        speaker: Speaker,
        *,
        on_snapshot: Callable[[Snapshot], None] | None = None,
        receipts: Sequence[UpdateReceipt] = (),
        resume: bool = False,
    ) -> TurnResult | None:
        """Answer the conversation's last question again; None when there is none yet.
        `resume` (a turn a crash cut short): its stored tool calls carry over, so nothing
        done is done again; otherwise (/retry) the turn starts afresh."""
        async with self._locks.hold(chat.chat_id):
            async with self._sessionmaker() as session:
                model, system_prompt, conversation_id = await self._chat_settings(session, chat)
                last = await MessageRepository(session).last_turn(conversation_id)
                if last is None:
                    await settle_in(session, receipts)
                    await session.commit()
                    mark_settled(receipts)
                    return None
                carried: list[int] = []
                if last.answer is not None:
                    if self.tools is not None:
                        carried = await self.tools.release(session, last.answer.id, resume)
                    await session.delete(last.answer)
                    await session.flush()  # gone before the window is read
                user = last.user
                question = Question(
                    user.id, user.conversation_id, user.text, user.token_count, user.author_name
                )
                turn = await self._open(
                    session, chat, speaker, model, system_prompt, question, receipts, carried
                )
            return await self._run(turn, on_snapshot)

    async def continue_waiting(
        self,
        chat: ChatRef,
        speaker: Speaker,
        answer_id: int,
        *,
        on_snapshot: Callable[[Snapshot], None] | None = None,
    ) -> TurnResult | None:
        """Carry on a turn that waited for a press on a tool call (pressed, or expired): the
        loop runs what was confirmed and asks the model again. None when the answer is not
        waiting any more (another press or replica carried it on, or it was given up)."""
        assert self.tools is not None
        async with self._locks.hold(chat.chat_id):
            async with self._sessionmaker() as session:
                reopened = await self.tools.reopen(session, answer_id)
                if reopened is None:
                    await session.rollback()
                    return None
                model, system_prompt, _ = await self._chat_settings(session, chat)
                question = await self.tools.question(session, reopened)
                turn = await self._open(
                    session, chat, speaker, model, system_prompt, question, (),
                    answer_id=answer_id,
                )
            turn.continued = True
            return await self._run(turn, on_snapshot)

    async def reset(self, chat_id: int, *, receipts: Sequence[UpdateReceipt] = ()) -> None:
        """Close the chat's conversation; the next turn opens a new one. Not serialised with
        turns: an answer in flight still lands in the conversation of its question."""
        async with self._sessionmaker() as session:
            if self.documents is not None:  # the documents sent in chat go with it
                await self.documents.drop(chat_id, session)
            await ConversationRepository(session).close_open(chat_id)
            await settle_in(session, receipts)
            await session.commit()
        mark_settled(receipts)

    async def mark_delivered(self, message_id: int, telegram_ids: list[int] | None) -> None:
        """The answer reached the user (with `track_delivery`), in `telegram_ids` if given."""
        async with self._sessionmaker() as session:
            await MessageRepository(session).mark_delivered(message_id, telegram_ids)
            await session.commit()

    async def set_answer_telegram_ids(self, message_id: int, telegram_ids: list[int]) -> None:
        async with self._sessionmaker() as session:
            await MessageRepository(session).set_telegram_ids(message_id, telegram_ids)
            await session.commit()

    async def note_streaming_ids(self, chat_id: int, telegram_ids: list[int]) -> None:
        """Record the Telegram messages showing the chat's answer in progress, so a restart
        after a crash can find and replace the partial messages; a no-op once the answer is
        stored. The ids also go into the answer's final store (TurnResult says which)."""
        turn = self._streaming.get(chat_id)
        if turn is None or not telegram_ids:
            return  # no answer of this chat is streaming: it is stored (or never started)
        turn.shown = tuple(telegram_ids)
        async with self._sessionmaker() as session:
            messages = MessageRepository(session)
            await messages.set_telegram_ids(turn.answer_id, telegram_ids, only_streaming=True)
            await session.commit()

    async def recover_interrupted(self, chat_id: int | None = None) -> int:
        """Mark answers left `streaming` by a dead process as failed; returns how many.
        Call once at start-up, before any turn runs; with `chat_id`, only while holding that
        chat's lease (several replicas), before its next turn."""
        async with self._sessionmaker() as session:
            count = await MessageRepository(session).fail_streaming(chat_id)
            await session.commit()
        return count

    # -- steps ---------------------------------------------------------------------------------

    async def _chat_settings(self, session: AsyncSession, chat: ChatRef) -> tuple[str, str, int]:
        """The chat's model and system prompt (None = the deployment's) and its open
        conversation, opened if needed. One read when the chat is stored as `chat` says (the
        update middleware upserts it); the chat is upserted only when missing or changed. A
        ChatRef without a title (private chats, retries) leaves the stored title alone."""
        conversations = ConversationRepository(session)
        state = await conversations.chat_state(chat.chat_id)
        if state is None or state.type != chat.type or chat.title not in (None, state.title):
            row = await ChatRepository(session).upsert(chat.chat_id, chat.type, chat.title)
            stored_model, stored_system = row.model, row.system_prompt
        else:
            stored_model, stored_system = state.model, state.system_prompt
        conversation_id = state.conversation_id if state is not None else None
        if conversation_id is None:
            conversation_id = (await conversations.current(chat.chat_id)).id
        model = stored_model or self._default_model
        system = self._default_system_prompt if stored_system is None else stored_system
        return model, system, conversation_id

    async def _open(
        self,
        session: AsyncSession,
        chat: ChatRef,
        speaker: Speaker,
        model: str,
        system_prompt: str,
        question: Question,
        receipts: Sequence[UpdateReceipt],
        carried: Sequence[int] = (),
        *,
        answer_id: int | None = None,
        new_images: tuple[bytes, ...] = (),
    ) -> TurnState:
        """Read the prompt window, add the placeholder answer (or go on with `answer_id`),
        settle the updates that carried the question, commit (first unit of work)."""
        messages = MessageRepository(session)
        reopened = answer_id is not None
        system_tokens = self._tokens.known_system(model, system_prompt) if system_prompt else 0
        budget = self._room(model) - system_tokens
        window = await messages.recent_for_prompt(
            question.conversation_id, budget, self._statuses, estimate=estimate_tokens
        )
        images: TurnImages | None = None
        if self.vision is not None:  # photos: the vision model when it sees any
            images = await self._images(session, window, question, new_images)
            if images.uses_vision:
                model = self.vision.model_name
            if images.earlier:
                window = name_images(window, images.earlier)
        if answer_id is None:
            answer_id = await messages.insert(
                question.conversation_id,
                MessageRole.ASSISTANT,
                "",
                status=MessageStatus.STREAMING,
                reply_to_id=question.id,
                model=model,
            )
        exchanges: dict[int, tuple[ChatMessage, ...]] = {}
        if self.tools is not None and carried:
            await self.tools.attach(session, carried, answer_id)
        if self.tools is not None and self.tools.offers(model):
            exchanges = await self.tools.exchanges(
                session, [e.id for e in window if e.role is MessageRole.ASSISTANT]
            )
        await settle_in(session, receipts)
        await session.commit()
        mark_settled(receipts)
        turn = TurnState(chat, speaker, model, system_prompt, question, answer_id, window)
        turn.exchanges = exchanges
        turn.has_calls = bool(carried) or reopened
        turn.room = self._room(model)
        turn.started = time.monotonic()
        turn.images = images
        self._streaming[chat.chat_id] = turn
        return turn

    async def _images(
        self,
        session: AsyncSession,
        window: list[HistoryEntry],
        question: Question,
        new_images: tuple[bytes, ...],
    ) -> TurnImages:
        """The turn's images: its own, and those stored with the window's latest questions."""
        assert self.vision is not None
        vision = self.vision
        conversation = question.conversation_id
        now = time.monotonic()
        if not new_images and self._imageless.get(conversation, 0.0) > now:
            return TurnImages()  # known to hold no images: a text turn pays no extra query
        asked = [e.id for e in window if e.role is MessageRole.USER and e.id < question.id]
        if not new_images:  # /retry of a question with images: its own are fetched again
            asked.append(question.id)
        earlier = await MessageImageRepository(session).for_messages(asked) if asked else {}
        images = TurnImages(new_images, earlier)
        images.resend = pick_resend(asked[-vision.recent_questions :], earlier, vision.max_images)
        if earlier or new_images:
            self._imageless.pop(conversation, None)
        else:
            self._imageless[conversation] = now + IMAGELESS_TTL
            if len(self._imageless) > 10_000:  # forget the expired ones now and then
                self._imageless = {k: v for k, v in self._imageless.items() if v > now}
        return images

    def _room(self, model: str) -> int:
        """Tokens for the prompt: the context minus the reply reserve. A chat's model with a
        context too small for the configured reserve gets a smaller reserve, not an error."""
        context = context_size_for(model, self._overrides)
        return max(context - self._reply_reserve, min(MIN_AVAILABLE, context))

    async def _prompt(self, turn: TurnState) -> list[ChatMessage]:
        """Build the prompt (pure) from the window; starts the question's token count."""
        context = context_size_for(turn.model, self._overrides)
        question = turn.question
        tokens = question.token_count
        if tokens is None:
            estimate, turn.count = self._tokens.question(question.text, turn.model)
            if turn.count.done():
                tokens = turn.count.result()
            elif estimate > COUNT_FIRST_SHARE * self._room(turn.model):
                tokens = await turn.count
        system_tokens = None
        system_prompt = turn.system_prompt
        if turn.grounding is not None:
            # A new prompt every turn: estimated, not sent to the tokenizer.
            system_prompt = turn.grounding.system_prompt
        elif turn.context_text:
            # A new prompt every turn: the chat's prompt as counted, the context estimated.
            system_prompt = with_context(turn.system_prompt, turn)
            base = turn.system_prompt
            known = self._tokens.known_system(turn.model, base) if base else 0
            system_tokens = known + turn.context_tokens
        elif turn.system_prompt:
            system_tokens = self._tokens.system(turn.model, turn.system_prompt)
        if turn.documents is not None:  # documents sent in chat: new every turn, estimated
            system_prompt = f"{system_prompt.strip()}\n\n{turn.documents.text}".strip()
            system_tokens = None
        history, dropped = history_before(turn.window, question.id, turn.exchanges)
        new = HistoryItem(Role.USER, question.text, tokens, question.author_name)
        result = build_prompt(
            system_prompt,
            history,
            new,
            context,
            context - self._room(turn.model),
            turn.chat.is_group,
            system_tokens=system_tokens,
        )
        turn.trimmed = result.trimmed or dropped
        images = turn.images
        if images is not None and images.uses_vision and self.vision is not None:
            earlier = await fetch_all(self.vision, images.resend or [])
            return with_images(result.messages, earlier, images.new)
        return result.messages

    async def _run(
        self, turn: TurnState, on_snapshot: Callable[[Snapshot], None] | None
    ) -> TurnResult:
        """Stream the answer and store it (second unit of work)."""
        last: Snapshot | None = None
        error: Exception | None = None
        try:
            if self.extras is not None and self.extras.providers:
                await add_context(turn, self.extras, self._room(turn.model))
            if self.documents is not None:
                await self._read_documents(turn, self.documents)
            # A question the chat's own documents answer is not searched in the knowledge base.
            if self.knowledge is not None and not (turn.documents and turn.documents.matched):
                await self._retrieve(turn, self.knowledge)
                if turn.grounding is not None:
                    turn.documents = None  # only the start of a document: the sources win
                if turn.abstained:
                    finish = self._finish(turn, None, MessageStatus.COMPLETE, None, "")
                    return await asyncio.shield(finish)
                if turn.grounding is not None and on_snapshot is not None:
                    on_snapshot = _hiding_citations(on_snapshot)
            options = self._options
            if self.hosted is not None:  # the Responses API's web and file search (hosted.py)
                options = await self.hosted.prepare(turn, options)
                if on_snapshot is not None:
                    if turn.grounding is not None:
                        on_snapshot = _hiding_citations(on_snapshot)
                    on_snapshot = self.hosted.showing_activity(on_snapshot, turn.speaker.language)
            messages = await self._prompt(turn)
            # A turn that shows images goes to the vision model, with the chat's tools when
            # it calls functions (Gemma 3 does on the OpenAI-compatible API: TOOLS_MODELS),
            # so "what is the status of the order in this screenshot?" can look it up.
            seeing = self.vision if turn.images is not None and turn.images.uses_vision else None
            if self.tools is not None and self.tools.offers(turn.model):
                client = seeing.model if seeing is not None else None
                stream = self.tools.stream(turn, messages, options, client=client)
            elif seeing is not None:
                stream = seeing.model.stream(messages, model=turn.model, options=options)
            else:
                stream = self._model.stream(messages, model=turn.model, options=options)
            async with aclosing(stream) as snapshots:
                async for snapshot in snapshots:
                    last = snapshot
                    if on_snapshot is not None:
                        on_snapshot(snapshot)
        except asyncio.CancelledError as exc:
            if relinquished(exc):  # left `streaming` for the replica taking the chat over
                self._drop(turn)
                raise
            await asyncio.shield(self._finish(turn, last, MessageStatus.CANCELLED))
            raise
        except FoundationModelsError as exc:
            error = exc
        except BaseException:
            await asyncio.shield(self._finish(turn, last, MessageStatus.FAILED))
            raise
        if error is None and (last is None or not last.is_final):
            error = StreamError("the answer ended without a final status")
        if error is not None:
            partial = last.text if last else getattr(error, "partial_text", "")
            finish = self._finish(turn, last, MessageStatus.FAILED, error, partial)
            return await asyncio.shield(finish)
        assert last is not None
        if last.status is CompletionStatus.CONTENT_FILTER:
            error = ContentFilteredError(last.text)
        status = STATUS_FOR.get(last.status, MessageStatus.COMPLETE)
        if status is MessageStatus.WAITING and not turn.waiting:
            status = MessageStatus.COMPLETE  # calls nobody offered: the text is the answer
        # Shielded: a cancel arriving while the answer is stored must not leave it `streaming`.
        return await asyncio.shield(self._finish(turn, last, status, error))

    async def _retrieve(self, turn: TurnState, knowledge: KnowledgeBase) -> None:
        """Search the knowledge base for the question; ground the prompt on what is found.

        Strict mode with nothing relevant: the turn abstains (no model call). A failed search
        (the embedding call) fails the turn in strict mode and is skipped in assist mode."""
        previous = previous_questions(turn.window, turn.question_id)
        try:
            retrieval = await knowledge.for_question(turn.question.text, previous[-1:])
        except FoundationModelsError:
            if knowledge.strict:
                raise
            logger.warning("knowledge base search failed; answering without it", exc_info=True)
            return
        turn.retrieval = retrieval
        if not retrieval.covered:
            turn.abstained = knowledge.strict
            return
        # Only passages that are relevant themselves: a weak one dilutes the sources.
        hits = [hit for hit in retrieval.hits if hit.score >= knowledge.retriever.min_score]
        share = int(SOURCES_SHARE * self._room(turn.model))
        turn.grounding = grounded_prompt(with_context(turn.system_prompt, turn), hits, share)

    def _reports_calls(self, status: MessageStatus) -> bool:
        return (
            self.tools is not None
            and self.extras is not None
            and bool(self.extras.on_answer)
            and status in FINAL_FOR_HOOKS
        )

    async def _read_documents(self, turn: TurnState, documents: ChatDocuments) -> None:
        """The passages of the chat's documents that best match the question."""
        share = int(DOCUMENTS_SHARE * self._room(turn.model))
        turn.documents = await documents.context_for(
            turn.question.conversation_id, turn.question.text, share
        )

    def _drop(self, turn: TurnState) -> None:
        """Forget a turn left unfinished on purpose (`RELINQUISHED`)."""
        if turn.count is not None:
            turn.count.cancel()
        if self._streaming.get(turn.chat.chat_id) is turn:
            del self._streaming[turn.chat.chat_id]

    async def _finish(
        self,
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
        if self._streaming.get(turn.chat.chat_id) is turn:
            del self._streaming[turn.chat.chat_id]
        shown = turn.shown
        sources = mark_cited(turn.grounding.sources, text) if turn.grounding else ()
        not_found = turn.abstained or (
            turn.grounding is not None
            and status in PROMPT_STATUSES
            and is_not_found(text)
        )
        if self.hosted is not None:  # web and file search: their sources, strict's verdict
            found, missing = await self.hosted.settle(turn, last)
            not_found = not_found or (missing and status in PROMPT_STATUSES)
            sources = () if not_found else (sources or found)
        if not_found:
            # What the user sees, stored as it is shown: the history, the desk's card and its
            # summary never see the model's marker (the flag is `kb_answers.covered`).
            text = not_found_text(turn.speaker.language, self.not_found_next_step)
        async with self._sessionmaker() as session:
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
                delivery_pending=self.track_delivery and status is not MessageStatus.CANCELLED,
            )
            calls: list[ToolCall] = []
            if stored:
                if self._reports_calls(status):  # for the App's on_answer hooks
                    calls = await ToolCallRepository(session).for_answer(turn.answer_id)
                if turn.retrieval is not None:
                    await KnowledgeRepository(session).save_answer(
                        turn.answer_id, covered=not not_found and turn.grounding is not None,
                        sources=[source.as_record() for source in sources],
                        query=turn.retrieval.query,
                    )
                if question_tokens is not None:
                    await messages.set_token_count(turn.question_id, question_tokens)
                if turn.context_providers:
                    await record_context(session, turn.answer_id, turn.context_providers)
                if usage is not None:
                    await UsageRepository(session).add(
                        turn.speaker.user_id, self._today(), tokens=usage.total_tokens,
                        reasoning_tokens=usage.reasoning_tokens,
                    )
                await session.commit()
            else:
                # The rows were deleted meanwhile (/forget or retention): nothing to update.
                await session.rollback()
                logger.info("answer %s was deleted while it streamed; not stored", turn.answer_id)
        metrics.turn_finished(status.value)
        _log_answer(turn, status, usage, not_found)
        if turn.retrieval is not None:
            metrics.kb_answer(covered=not not_found and turn.grounding is not None)
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
            not_found=not_found,
            sources=sources,
            waiting=turn.waiting if status is MessageStatus.WAITING else (),
            tool_limit=turn.tool_limit,
        )
        if self.extras is not None and self.extras.on_answer and status in FINAL_FOR_HOOKS:
            self.extras.answered(answer_event(turn, result, calls))  # in tasks of their own
        return result


def _log_answer(
    turn: TurnState, status: MessageStatus, usage: Usage | None, not_found: bool
) -> None:
    """One INFO line per answer: what an operator needs to follow load and cost (model,
    tokens, latency), never what the user or the model wrote."""
    tokens = (
        f"{usage.input_tokens} in + {usage.completion_tokens} out tokens"
        if usage is not None
        else "no model call" if turn.abstained else "tokens unknown"
    )
    kb = " (knowledge base: not found)" if not_found else (
        f" (knowledge base: {len(turn.grounding.sources)} sources)" if turn.grounding else ""
    )
    logger.info(
        "answer %s in chat %s: %s, model %s, %s, %.2f s%s",
        turn.answer_id, turn.chat.chat_id, status.value, turn.model, tokens,
        time.monotonic() - turn.started, kb,
    )  # fmt: skip


def _hiding_citations(on_snapshot: Callable[[Snapshot], None]) -> Callable[[Snapshot], None]:
    """Streamed frames of a grounded answer without citation numbers or the not-found marker
    (the final message shows citations as links, the marker as the "not found" text)."""

    def wrapped(snapshot: Snapshot) -> None:
        on_snapshot(dataclasses.replace(snapshot, text=for_stream(snapshot.text)))

    return wrapped
