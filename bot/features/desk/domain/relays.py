"""Relay records: a user's message for their topic and an operator's for the user, pending
until sent; their text joins the user's conversation, so the model knows it after /bot."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from bot.features.desk import metrics
from bot.features.desk.domain.state import DeskState
from bot.features.desk.domain.views import RelayView, Requester
from bot.features.desk.storage.cases import DeskRepository
from bot.features.desk.storage.models import DeskStatus, RelayDirection
from bot.features.desk.storage.relays import DeskRelayRepository
from bot.plugin.storage import ConversationRepository, MessageRepository, MessageRole


class Relays:
    def __init__(self, state: DeskState) -> None:
        self.state = state

    async def relay_from_user(
        self, user_id: int, chat_id: int, message_id: int, text: str = ""
    ) -> RelayView | None:
        """Record a user's message for their topic (pending). None: not owned, or known.
        `text` (a text or caption) joins the conversation's history (see `_remember`)."""
        async with self.state.serialized(user_id) as session:
            repo = DeskRepository(session)
            case = await repo.current_case(user_id)
            if case is None or case.status not in (DeskStatus.WAITING, DeskStatus.WITH_OPERATOR):
                return None
            topic = await repo.topic(user_id)
            now = self.state.clock()
            case.last_user_at = now
            relay = await DeskRelayRepository(session).add_relay(
                case, RelayDirection.TO_TOPIC, (chat_id, message_id), self.state.support_chat_id,
                topic.thread_id if topic else None, now,
            )
            if relay is not None and text:
                relay.text = text[:4000]  # the transcript of the case
            view = RelayView.of(relay) if relay is not None else None
            if view is not None:
                await _remember(session, user_id, MessageRole.USER, text, user_id, None)
            await session.commit()
        if view is not None:
            metrics.relay(view.direction.value)
        return view

    async def relay_from_operator(
        self, thread_id: int, message_id: int, text: str = "", author: Requester | None = None
    ) -> RelayView | None:
        """Record an operator's message for the topic's user (pending); the first one moves the
        conversation to with_operator. None: no conversation a person owns in that topic.
        `text` joins the user's conversation as an answer by `author` (see `_remember`)."""
        async with self.state.sessionmaker() as session:
            repo = DeskRepository(session)
            topic = await repo.topic_by_thread(self.state.support_chat_id, thread_id)
            if topic is None:
                return None
            if self.state.shared:  # its first reply moves the case on: one replica at a time
                await repo.lock_user(topic.user_id)
            case = await repo.current_case(topic.user_id)
            if case is None or case.status not in (DeskStatus.WAITING, DeskStatus.WITH_OPERATOR):
                return None
            now = self.state.clock()
            if case.status is DeskStatus.WAITING:
                case.status = DeskStatus.WITH_OPERATOR
                case.first_reply_at = now
            relay = await DeskRelayRepository(session).add_relay(
                case, RelayDirection.TO_USER, (self.state.support_chat_id, message_id),
                case.user_id, None, now,
            )
            if relay is not None and text:
                relay.text = text[:4000]
            view = RelayView.of(relay) if relay is not None else None
            if view is not None:
                await _remember(
                    session, case.user_id, MessageRole.ASSISTANT, text,
                    author.user_id if author else None, author.name if author else "operator",
                )
            await session.commit()
        if view is not None:
            metrics.relay(view.direction.value)
        return view

    async def still_pending(self, ids: Sequence[int]) -> set[int]:
        """Which of these relays no one has sent yet (another replica may have)."""
        async with self.state.sessionmaker() as session:
            return await DeskRelayRepository(session).still_pending(ids)

    async def relays_done(self, done: Sequence[tuple[int, int]]) -> None:
        async with self.state.sessionmaker() as session:
            await DeskRelayRepository(session).finish_relays(done, self.state.clock())
            await session.commit()

    async def relays_failed(self, ids: Sequence[int], error: str) -> None:
        async with self.state.sessionmaker() as session:
            await DeskRelayRepository(session).fail_relays(ids, error, self.state.clock())
            await session.commit()

    async def pending_relays(self) -> list[RelayView]:
        async with self.state.sessionmaker() as session:
            return [RelayView.of(r) for r in await DeskRelayRepository(session).pending_relays()]

    async def relay_of(self, chat_id: int, message_id: int) -> RelayView | None:
        """The relay whose source is this message (to carry an edit over)."""
        async with self.state.sessionmaker() as session:
            relay = await DeskRelayRepository(session).relay_by_source(chat_id, message_id)
            return RelayView.of(relay) if relay is not None else None

async def _remember(
    session: AsyncSession,
    chat_id: int,
    role: MessageRole,
    text: str,
    author_id: int | None,
    author_name: str | None,
) -> None:
    """A message of the dialogue with a person, in the user's conversation: after /bot the
    model knows what was asked and what a person promised. An operator's message is
    an assistant message with its author (the bot's own have none)."""
    if not text.strip():
        return  # media without a caption: nothing the model could read
    conversations = ConversationRepository(session)
    if await conversations.chat_state(chat_id) is None:
        return  # the user's chat is not stored (erased meanwhile)
    conversation = await conversations.current(chat_id)
    await MessageRepository(session).insert(
        conversation.id, role, text, author_user_id=author_id, author_name=author_name
    )
