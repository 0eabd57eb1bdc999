"""Ending a person's conversation (/close, /bot, a handoff nobody could see) and the user's
rating of the help, with its comment: the message after "Add a comment", or the first one
after the rating when it is no question (handlers.py, `CommentAfterRating`)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable

from bot.features.desk import metrics
from bot.features.desk.domain.state import DeskState
from bot.features.desk.domain.views import CaseView, RatingComment
from bot.features.desk.storage.cases import DeskRepository
from bot.features.desk.storage.models import DeskCase, DeskStatus

# A message this soon after a rating, before any other, may be the rating's comment.
COMMENT_AFTER_RATING = dt.timedelta(minutes=10)


class Closing:
    def __init__(self, state: DeskState) -> None:
        self.state = state

    async def close(self, case_id: int, *, ask_rating: bool) -> CaseView | None:
        """/close: resolved. None when it was not waiting for or with a person."""
        return await self._end(case_id, DeskStatus.RESOLVED, "closed", ask_rating)

    async def give_back(self, case_id: int) -> CaseView | None:
        """/bot: the bot answers again; no rating."""
        return await self._end(case_id, DeskStatus.BOT, "returned", False)

    async def give_up(self, case_id: int) -> CaseView | None:
        """The handoff could not reach any person (the support chat cannot hold topics): the
        bot answers again, and the report shows the conversation as "failed"."""
        return await self._end(case_id, DeskStatus.BOT, "failed", False)

    async def _end(
        self, case_id: int, status: DeskStatus, resolution: str, ask_rating: bool
    ) -> CaseView | None:
        async with self.state.sessionmaker() as session:
            repo = DeskRepository(session)
            case = await repo.get_case(case_id)
            if case is not None and self.state.shared:
                # Two replicas closing one case (/close twice, /close and /bot) end it once.
                await repo.lock_user(case.user_id)
                await session.refresh(case)
            if case is None or case.status not in (DeskStatus.WAITING, DeskStatus.WITH_OPERATOR):
                return None
            now = self.state.clock()
            case.status = status
            case.resolution = resolution
            case.resolved_at = now
            case.not_found_streak = 0
            if status is DeskStatus.BOT:
                case.last_user_at = now  # its 24 h of quiet start now
            if ask_rating:
                case.csat_asked_at = now
            topic = await repo.topic(case.user_id)
            view = CaseView.of(case, topic)
            await session.commit()
        self.state.set_owned(view.user_id, False)
        metrics.desk_ended(resolution)
        return view

    async def rate(self, case_id: int, user_id: int, score: int) -> bool:
        """One rating per conversation; False when rated already (or not theirs)."""
        async with self.state.sessionmaker() as session:
            case = await DeskRepository(session).get_case(case_id)
            if (
                case is None
                or case.user_id != user_id
                or case.csat_score is not None
                or not 1 <= score <= 5
            ):
                return False
            case.csat_score = score
            await session.commit()
        metrics.rating(score)
        self.state.set_rated(user_id)
        return True

    def just_rated(self, user_id: int) -> bool:
        """The user rated the help a moment ago (COMMENT_AFTER_RATING) and this is the first
        message since: it may be the comment, written without pressing "Add a comment"."""
        return self.state.take_rated(user_id, COMMENT_AFTER_RATING)

    async def comment_after_rating(self, user_id: int, text: str) -> RatingComment | None:
        """`text` as the comment of the user's newest rated case that has none (None: there
        is no such case)."""
        comment = await self._comment(user_id, text, DeskRepository.rated_without_comment)
        self.state.set_commenting(user_id, False)
        return comment

    async def want_comment(self, case_id: int, user_id: int) -> bool:
        async with self.state.sessionmaker() as session:
            case = await DeskRepository(session).get_case(case_id)
            if case is None or case.user_id != user_id or case.csat_comment is not None:
                return False
            case.csat_comment_pending = True
            await session.commit()
        self.state.set_commenting(user_id, True)
        return True

    async def take_comment(self, user_id: int, text: str) -> RatingComment | None:
        """The message after "add a comment" is the comment (stored once, then locked); the
        comment with where to post it for the operators. None: no comment was asked for."""
        self.state.set_commenting(user_id, False)
        return await self._comment(user_id, text, DeskRepository.pending_comment_case)

    async def _comment(
        self, user_id: int, text: str,
        find: Callable[[DeskRepository, int], Awaitable[DeskCase | None]],
    ) -> RatingComment | None:
        """`text` stored as the comment of the case `find` gives (once: then locked), with
        where to post it for the operators; None when there is no such case."""
        async with self.state.sessionmaker() as session:
            repo = DeskRepository(session)
            case = await find(repo, user_id)
            if case is None:
                return None
            case.csat_comment = text[:4000]
            case.csat_comment_pending = False
            topic = await repo.topic(user_id)
            comment = RatingComment(
                case.id, user_id, case.csat_score, case.csat_comment,
                topic.thread_id if topic is not None else None,
            )
            await session.commit()
            return comment
