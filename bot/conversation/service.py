"""ConversationService: the conversation's use cases (a turn, a retry, a turn carried on
after a press, reset, delivery notes, recovery). A turn runs as a pipeline of steps, each in
a module of its own: opening.py (the first unit of work), the prompt contributors
(contributors.py), running.py (the prompt and the stream), finishing.py (the second unit of
work); see the package docstring."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from typing import TypeVar

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.conversation.features import TurnFeature
from bot.conversation.locks import ChatLocks
from bot.conversation.opening import chat_settings, open_turn
from bot.conversation.options import TurnOptions
from bot.conversation.parts import TurnParts
from bot.conversation.running import run
from bot.conversation.tokens import TokenCounter
from bot.conversation.turn import WITH_FAILED, Question, TurnState
from bot.conversation.types import ChatRef, ImageInput, Speaker, TurnResult
from bot.foundation_models.errors import InvalidRequestError
from bot.foundation_models.types import ChatModel, CompletionOptions, Snapshot
from bot.prompting import MIN_AVAILABLE, context_size_for, estimate_tokens
from bot.storage.models import MessageRole, utc_today
from bot.storage.outage import Outage, outage_of
from bot.storage.pooling import one_statement_sessions
from bot.storage.repositories import (
    PROMPT_STATUSES,
    ConversationRepository,
    MessageRepository,
    UpdateReceipt,
    commit_with,
    mark_settled,
    settle_in,
)

T = TypeVar("T")


class ConversationService:
    """The conversation's use cases. A turn asks `features` at its fixed points, in order
    (features.py); those that suspend answers (`TurnFeature.suspends`) are met by the
    use cases too (a new question declines what waits, /retry, the press carried on)."""

    def __init__(
        self,
        *,
        sessionmaker: async_sessionmaker[AsyncSession],
        model: ChatModel,
        options: TurnOptions,
        features: Sequence[TurnFeature] = (),
        image_tokens: int | None = None,
        today: Callable[[], dt.date] = utc_today,
    ) -> None:
        """`image_tokens`: what an image of a question costs in prompts (None: images are not
        taken; the vision feature says)."""
        reserve = options.reply_reserve
        if context_size_for(options.default_model, options.context_overrides) - reserve < (
            MIN_AVAILABLE
        ):
            raise ValueError(
                f"reply reserve {reserve} leaves no room for a prompt in {options.default_model}"
            )
        self._sessionmaker = sessionmaker
        # The answer's Telegram ids and its delivery are one UPDATE each, made on every turn:
        # no transaction around them (two round trips fewer each on PostgreSQL).
        self._one_statement = one_statement_sessions(sessionmaker)
        self._parts = TurnParts(
            sessionmaker=sessionmaker,
            model=model,
            default_model=options.default_model,
            default_system_prompt=options.default_system_prompt,
            reply_reserve=reserve,
            options=CompletionOptions(
                temperature=options.temperature, max_tokens=options.max_reply_tokens
            ),
            overrides=dict(options.context_overrides),
            statuses=WITH_FAILED if options.include_failed_in_prompt else PROMPT_STATUSES,
            tokens=TokenCounter(
                model, timeout=options.count_timeout, threshold=options.count_threshold
            ),
            today=today,
            features=tuple(features),
            track_delivery=options.track_delivery,
            wire=options.wire,
        )
        # The features whose answers may wait for the user's press.
        self._suspending = tuple(feature for feature in features if feature.suspends)
        # What an image of a question costs in prompts; None = images are not taken.
        self.image_tokens = image_tokens
        self.track_delivery = options.track_delivery
        self._locks = ChatLocks()

    @property
    def features(self) -> tuple[TurnFeature, ...]:
        """The features that take part in every turn, in the order they are asked."""
        return self._parts.features

    async def _chat(self, session: AsyncSession, chat: ChatRef) -> tuple[str, str, int]:
        return await chat_settings(self._parts, session, chat)

    async def cost_estimate(self, chat: ChatRef, text: str) -> int:
        """What a turn answering `text` in `chat` may spend, before it runs: the prompt as it
        would be read now (the system prompt, the history window within the model's room, the
        question), never more than the room, plus the most a reply may take
        (MAX_REPLY_TOKENS). A budget shared by turns running side by side reserves it (chat
        automation's per connection) and settles to the real usage after."""
        async with self._sessionmaker() as session:
            model, system_prompt, conversation_id = await self._chat(session, chat)
            system = self._parts.tokens.known_system(model, system_prompt) if system_prompt \
                else 0
            room = self._parts.room(model)
            window = await MessageRepository(session).recent_for_prompt(
                conversation_id, room - system, self._parts.statuses,
                include_overflow=False, estimate=estimate_tokens,
            )
            await session.commit()
        history = sum(e.token_count or estimate_tokens(e.text) for e in window)
        prompt = min(room, system + history + estimate_tokens(text))
        return prompt + (self._parts.options.max_tokens or 0)

    @property
    def outage(self) -> Outage:
        """The database's reachability as this process sees it (bot/storage/outage.py)."""
        return outage_of(self._sessionmaker)

    @asynccontextmanager
    async def _hold(self, chat_id: int) -> AsyncIterator[None]:
        """The chat's turn: after the one before it (`_ride` waits for that one's answer to
        be stored, when the database was away as it ended)."""
        async with self._locks.hold(chat_id):
            yield

    async def _ride(
        self, what: str, work: Callable[[], Awaitable[T]], chat: ChatRef, speaker: Speaker
    ) -> T:
        """`work` (a turn's first unit of work), waiting for the database while it is away:
        the turn waits in its chat's queue instead of failing (bot/storage/outage.py). It
        starts after the chat's last answer is stored (finishing.py), so its window holds it;
        waiting for that counts as waiting for the database (told past the grace)."""
        outage = outage_of(self._sessionmaker)
        saving = self._parts.saving.get(chat.chat_id)
        if saving is not None and not saving.done():
            outage.wait(chat.chat_id, speaker.language)
            try:
                await asyncio.wait({saving})
            finally:
                outage.unwait(chat.chat_id)
        return await outage.ride(what, work, chat=chat.chat_id, language=speaker.language)

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
        queue in the transaction that stores it. `images` (with `image_tokens` set) are
        stored with the question by file id, for the features that show them. Raises
        InvalidRequestError for a blank text without images (nothing is stored)."""
        if not text.strip() and not images:
            raise InvalidRequestError("the message is empty")
        image_tokens = self.image_tokens
        if images and image_tokens is None:
            raise InvalidRequestError("images are not taken (no vision model)")

        async def opening() -> TurnState:
            async with self._sessionmaker() as session:
                model, system_prompt, conversation_id = await self._chat(session, chat)
                for suspending in self._suspending:  # what is suspended in the chat: declined
                    await suspending.decline(session, chat.chat_id, speaker.user_id)
                # A short question's count is its estimate (see tokens.py): stored with it, so
                # the answer's unit of work has nothing left to update on the question.
                tokens = self._parts.tokens.short_count(text)
                if images and image_tokens is not None:
                    # Counted now: the vision model has no tokenizer of its own here.
                    tokens = (tokens or estimate_tokens(text)) + image_tokens * len(images)
                question_id = await MessageRepository(session).insert(
                    conversation_id,
                    MessageRole.USER,
                    text,
                    author_user_id=speaker.user_id,
                    author_name=speaker.display_name,
                    token_count=tokens,
                    telegram_message_ids=[telegram_message_id] if telegram_message_id else (),
                )
                question = Question(
                    question_id, conversation_id, text, tokens, speaker.display_name
                )
                return await open_turn(
                    self._parts, session, chat, speaker, model, system_prompt, question, receipts,
                    images=tuple(images),
                )

        async with self._hold(chat.chat_id):
            turn = await self._ride("opening a turn", opening, chat, speaker)
            return await run(self._parts, turn, on_snapshot)

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

        async def opening() -> TurnState | None:
            async with self._sessionmaker() as session:
                model, system_prompt, conversation_id = await self._chat(session, chat)
                last = await MessageRepository(session).last_turn(conversation_id)
                if last is None:
                    await settle_in(session, receipts)
                    await session.commit()
                    mark_settled(receipts)
                    return None
                carried: list[int] = []
                if last.answer is not None:
                    for suspending in self._suspending:
                        carried += await suspending.release(session, last.answer.id, resume)
                    await session.delete(last.answer)
                    await session.flush()  # gone before the window is read
                user = last.user
                question = Question(
                    user.id, user.conversation_id, user.text, user.token_count, user.author_name
                )
                return await open_turn(
                    self._parts,
                    session,
                    chat,
                    speaker,
                    model,
                    system_prompt,
                    question,
                    receipts,
                    carried,
                )

        async with self._hold(chat.chat_id):
            turn = await self._ride("opening a turn", opening, chat, speaker)
            if turn is None:
                return None
            return await run(self._parts, turn, on_snapshot)

    async def resume(
        self,
        chat: ChatRef,
        speaker: Speaker,
        answer_id: int,
        *,
        on_snapshot: Callable[[Snapshot], None] | None = None,
    ) -> TurnResult | None:
        """Carry on a suspended answer (the tool loop's: pressed, or expired; it runs what was
        confirmed and asks the model again). None when the answer is not suspended any more
        (another press or replica carried it on, or it was given up)."""
        if not self._suspending:
            raise InvalidRequestError("no feature of this bot suspends an answer")

        async def opening() -> TurnState | None:
            async with self._sessionmaker() as session:
                for suspending in self._suspending:
                    question = await suspending.resume(session, answer_id)
                    if question is not None:
                        break
                else:
                    await session.rollback()
                    return None
                model, system_prompt, _ = await self._chat(session, chat)
                return await open_turn(
                    self._parts, session, chat, speaker, model, system_prompt, question, (),
                    answer_id=answer_id,
                )

        async with self._hold(chat.chat_id):
            turn = await self._ride("opening a turn", opening, chat, speaker)
            if turn is None:
                return None
            return await run(self._parts, turn, on_snapshot)

    async def reset(self, chat_id: int, *, receipts: Sequence[UpdateReceipt] = ()) -> None:
        """Close the chat's conversation; the next turn opens a new one. Not serialised with
        turns: an answer in flight still lands in the conversation of its question. Actions
        waiting for a press in the chat are declined: a reset leaves nothing pressable."""
        async with self._sessionmaker() as session:
            for feature in self._parts.features:  # e.g. documents sent in chat go with it
                await feature.reset(session, chat_id)
            await ConversationRepository(session).close_open(chat_id)
            await settle_in(session, receipts)
            await session.commit()
        mark_settled(receipts)

    async def mark_delivered(self, message_id: int, telegram_ids: list[int] | None) -> None:
        """The answer reached the user (with `track_delivery`), in `telegram_ids` if given."""
        async with self._one_statement() as session:
            await MessageRepository(session).mark_delivered(message_id, telegram_ids)
            await session.commit()

    async def set_answer_telegram_ids(self, message_id: int, telegram_ids: list[int]) -> None:
        async with self._one_statement() as session:
            ids = MessageRepository.set_telegram_ids_statement(message_id, telegram_ids)
            await commit_with(session, [ids])

    async def note_streaming_ids(self, chat_id: int, telegram_ids: list[int]) -> None:
        """Record the Telegram messages showing the chat's answer in progress, so a restart
        after a crash can find and replace the partial messages; a no-op once the answer is
        stored. The ids also go into the answer's final store (TurnResult says which)."""
        turn = self._parts.streaming.get(chat_id)
        if turn is None or not telegram_ids:
            return  # no answer of this chat is streaming: it is stored (or never started)
        turn.shown = tuple(telegram_ids)
        async with self._one_statement() as session:
            ids = MessageRepository.set_telegram_ids_statement(
                turn.answer_id, telegram_ids, only_streaming=True)
            await commit_with(session, [ids])

    async def recover_interrupted(self, chat_id: int | None = None) -> int:
        """Mark answers left `streaming` by a dead process as failed; returns how many.
        Call once at start-up, before any turn runs; with `chat_id`, only while holding that
        chat's lease (several replicas), before its next turn."""
        async with self._sessionmaker() as session:
            count = await MessageRepository(session).fail_streaming(chat_id)
            await session.commit()
        return count
