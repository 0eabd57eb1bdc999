"""Reading the desk's cases, topics and users for the Telegram side (the card, the topic, a
relay's target), and recording a topic, a card and a block."""

from __future__ import annotations

from bot.features.desk.domain.state import DeskState
from bot.features.desk.domain.views import CaseView, Requester
from bot.features.desk.storage.cases import DeskRepository
from bot.features.desk.storage.models import DeskCase, DeskNote, RelayDirection
from bot.features.desk.storage.relays import DeskRelayRepository
from bot.features.desk.storage.scores import DeskScoreRepository
from bot.plugin.storage import UserRepository


class CaseReads:
    def __init__(self, state: DeskState) -> None:
        self.state = state

    async def requester(self, user_id: int) -> Requester:
        """Who the user is, from their stored row (a bare id when there is none)."""
        async with self.state.sessionmaker() as session:
            user = await UserRepository(session).get(user_id)
        if user is None:
            return Requester(user_id, str(user_id))
        name = " ".join(p for p in (user.first_name, user.last_name) if p) or str(user_id)
        return Requester(user_id, name, user.language)

    async def username_of(self, user_id: int) -> str | None:
        async with self.state.sessionmaker() as session:
            user = await UserRepository(session).get(user_id)
        return user.username if user is not None else None

    async def question_of(self, message_id: int) -> str:
        """The stored text of a user message (the question a turn answered)."""
        async with self.state.sessionmaker() as session:
            return await DeskRepository(session).question_of(message_id)

    async def latest_case(self, user_id: int) -> CaseView | None:
        """The user's newest conversation, resolved or not."""
        async with self.state.sessionmaker() as session:
            case = await DeskRepository(session).latest_case(user_id)
        return await self.case_view(case.id) if case is not None else None

    async def case_view(self, case_id: int) -> CaseView | None:
        async with self.state.sessionmaker() as session:
            repo = DeskRepository(session)
            case = await repo.get_case(case_id)
            if case is None:
                return None
            topic = await repo.topic(case.user_id)
            return CaseView.of(case, topic)

    async def case_for_thread(self, thread_id: int) -> CaseView | None:
        """The conversation of the topic: the user's current one, else their last one."""
        async with self.state.sessionmaker() as session:
            repo = DeskRepository(session)
            topic = await repo.topic_by_thread(self.state.support_chat_id, thread_id)
            if topic is None:
                return None
            case = await repo.latest_case(topic.user_id)
            if case is None:
                return None
            return CaseView.of(case, topic)

    async def add_note(self, thread_id: int, author: str, text: str) -> bool:
        """Keep an operator's internal note with the topic's conversation (False: the topic
        has none)."""
        case = await self.case_for_thread(thread_id)
        if case is None:
            return False
        async with self.state.sessionmaker() as session:
            session.add(DeskNote(case_id=case.id, author=author[:256], text=text[:4000]))
            await session.commit()
        return True

    async def unfinished_handoffs(self) -> list[CaseView]:
        async with self.state.sessionmaker() as session:
            repo = DeskRepository(session)
            out = []
            for case in await repo.cases_without_card():
                topic = await repo.topic(case.user_id)
                out.append(
                    CaseView.of(case, topic)
                )
            return out

    async def handoff_context(self, user_id: int, limit: int = 8) -> list[tuple[str, str]]:
        async with self.state.sessionmaker() as session:
            return await DeskRepository(session).recent_dialogue(user_id, limit)

    async def dialogue_before_case(self, case_id: int, limit: int = 8) -> list[tuple[str, str]]:
        """What was said before the case opened: the dialogue with a person is in the same
        history, and comes from the case's relays instead (`case_transcript`)."""
        async with self.state.sessionmaker() as session:
            case = await session.get(DeskCase, case_id)
            if case is None:
                return []
            return await DeskRepository(session).recent_dialogue(
                case.user_id, limit, before=case.opened_at
            )

    async def case_transcript(self, case_id: int) -> list[tuple[str, str]]:
        """What was said while a person owned the case: ("user" | "operator", text), oldest
        first (the relayed messages' text; media without a caption say nothing)."""
        async with self.state.sessionmaker() as session:
            relays = await DeskRelayRepository(session).relays_of(case_id)
        return [
            ("user" if r.direction is RelayDirection.TO_TOPIC else "operator", r.text)
            for r in relays
            if r.text
        ]

    async def case_dialogue(self, case_id: int, limit: int = 60) -> list[tuple[str, str]]:
        """The whole conversation, oldest first, as ("user" | "bot" | "operator", text): the
        private chat's messages from its first answered question up to the next
        conversation's (by message id: a case opens when its first answer is noted, after
        the question was stored), before a handoff; then the relayed messages."""
        async with self.state.sessionmaker() as session:
            case, _, after = await DeskScoreRepository(session).neighbours(case_id)
            if case is None:
                return []
            repo = DeskRepository(session)
            firsts = await repo.first_questions([case_id] + ([after.id] if after else []))
            said: list[tuple[str, str]] = []
            if case_id in firsts:
                said = await repo.recent_dialogue(
                    case.user_id, limit, before=case.handoff_at, from_id=firsts[case_id],
                    below_id=firsts.get(after.id) if after is not None else None,
                )
        lines = [("bot" if role == "assistant" else role, text) for role, text in said]
        if case.handoff_at is not None:
            lines += await self.case_transcript(case_id)
        return lines[-limit:]

    async def sources_tried(self, case_id: int) -> list[str]:
        async with self.state.sessionmaker() as session:
            turns = await DeskRepository(session).turns_of([case_id])
        seen: dict[str, None] = {}
        for turn in turns:
            for source in turn.sources:
                seen.setdefault(source, None)
        return list(seen)

    async def set_topic(self, user_id: int, thread_id: int) -> None:
        async with self.state.sessionmaker() as session:
            await DeskRepository(session).set_topic(user_id, self.state.support_chat_id, thread_id)
            await session.commit()

    async def mark_topic(self, user_id: int, *, closed: bool) -> None:
        async with self.state.sessionmaker() as session:
            topic = await DeskRepository(session).topic(user_id)
            if topic is not None:
                topic.closed = closed
                await session.commit()

    async def forget_topic(self, user_id: int) -> None:
        async with self.state.sessionmaker() as session:
            await DeskRepository(session).drop_topic(user_id)
            await session.commit()

    async def set_card(self, case_id: int, message_id: int) -> None:
        async with self.state.sessionmaker() as session:
            case = await DeskRepository(session).get_case(case_id)
            if case is not None:
                case.card_message_id = message_id
                await session.commit()

    async def set_block(self, user_id: int, blocked: bool) -> None:
        async with self.state.sessionmaker() as session:
            await UserRepository(session).set_blocked(user_id, blocked)
            await session.commit()

    async def is_blocked(self, user_id: int) -> bool:
        async with self.state.sessionmaker() as session:
            user = await UserRepository(session).get(user_id)
        return user is not None and user.blocked

